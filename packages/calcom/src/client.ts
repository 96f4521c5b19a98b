import { z } from 'zod';
import { CalcomError } from './errors.ts';
import type { RateLimitInfo } from './rate-limit.ts';
import {
  type Booking,
  bookingListSchema,
  bookingSchema,
  type CreateBookingInput,
  type CreateEventTypeInput,
  type CreateWebhookInput,
  createBookingInputSchema,
  type EventType,
  envelope,
  eventTypeSchema,
  type ListBookingsFilters,
  type Me,
  meSchema,
  type Pagination,
  type Reservation,
  reservationSchema,
  type SlotsMap,
  slotsSchema,
  type Team,
  type TeamMembership,
  teamMembershipSchema,
  teamSchema,
  type Webhook,
  webhookSchema,
} from './schemas.ts';
import { type CalcomClientOptions, createCalcomTransport } from './transport.ts';

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export type CalcomClient = ReturnType<typeof createCalcomClient>;

/**
 * The enveloped form of a schema, built once per schema: zod compiles a schema on its first parse,
 * so a schema built per call is compiled per call.
 */
function dataOf<S extends z.ZodType>(schema: S) {
  let enveloped = envelopedSchemas.get(schema) as z.ZodType<z.infer<S>> | undefined;
  if (enveloped === undefined) {
    enveloped = envelope(schema).transform((body) => body.data as z.infer<S>);
    envelopedSchemas.set(schema, enveloped);
  }
  return enveloped;
}
const envelopedSchemas = new WeakMap<z.ZodType, z.ZodType>();
const eventTypeList = z.array(eventTypeSchema);
const webhookList = z.array(webhookSchema);
const teamList = z.array(teamSchema);
// The OpenAPI document types this `data` as one membership; Cal.com answers the list.
const membershipList = z.array(teamMembershipSchema);

/**
 * The typed Cal.com API v2 client: one method per operation with its path, request shape and
 * answer schema. The transport (`transport.ts`) sends them: the right `cal-api-version` per
 * family, the budget hook, tracing, errors mapped to our codes, no retries of its own.
 */
export function createCalcomClient(options: CalcomClientOptions) {
  const transport = createCalcomTransport(options);
  const call = transport.call;
  const data = <S extends z.ZodType>(schema: S) => dataOf(schema);
  const uidPath = (uid: string) => encodeURIComponent(uid);

  return {
    get lastRateLimit(): RateLimitInfo | undefined {
      return transport.lastRateLimit;
    },
    keyFingerprint: transport.keyFingerprint,

    /** Free slots: date -> [{start}] in `timeZone`'s offset; `{}` when nothing is free. */
    getSlots(
      input: { eventTypeId: number; start: string; end: string; timeZone: string; format?: 'range' },
      opts: CallOptions = {},
    ): Promise<SlotsMap> {
      return call('slots.get', 'GET', '/slots', data(slotsSchema), { query: input, signal: opts.signal });
    },
    reserveSlot(
      input: { eventTypeId: number; slotStart: string; slotDuration?: number; reservationDuration?: number },
      opts: CallOptions = {},
    ): Promise<Reservation> {
      const body = {
        eventTypeId: input.eventTypeId,
        slotStart: input.slotStart,
        slotDuration: input.slotDuration,
        reservationDuration: input.reservationDuration,
      };
      return call('slots.reserve', 'POST', '/slots/reservations', data(reservationSchema), {
        body,
        signal: opts.signal,
      });
    },
    /** A reservation, or null: Cal.com answers an unknown uid with success and `data: null`. */
    getReservation(uid: string, opts: CallOptions = {}): Promise<Reservation | null> {
      return call(
        'reservations.get',
        'GET',
        `/slots/reservations/${uidPath(uid)}`,
        data(reservationSchema.nullable()),
        opts,
      );
    },
    updateReservation(
      uid: string,
      input: { eventTypeId: number; slotStart: string; slotDuration?: number; reservationDuration?: number },
      opts: CallOptions = {},
    ): Promise<Reservation> {
      const body = { ...input };
      return call(
        'reservations.update',
        'PATCH',
        `/slots/reservations/${uidPath(uid)}`,
        data(reservationSchema),
        {
          body,
          signal: opts.signal,
        },
      );
    },
    /** Deletes a reservation; Cal.com answers success for an unknown or already deleted uid too. */
    async deleteReservation(uid: string, opts: CallOptions = {}): Promise<void> {
      await call('reservations.delete', 'DELETE', `/slots/reservations/${uidPath(uid)}`, z.unknown(), opts);
    },

    /** Books a slot. The input is checked against what Cal.com accepts before it is sent. */
    async createBooking(input: CreateBookingInput, opts: CallOptions = {}): Promise<Booking> {
      const parsed = createBookingInputSchema.safeParse(input);
      if (!parsed.success) {
        const problems = parsed.error.issues
          .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
          .join('; ');
        throw new CalcomError(
          'VALIDATION_FAILED',
          `Booking request would be rejected by Cal.com: ${problems}`,
          {
            operation: 'bookings.create',
            retry: false,
          },
        );
      }
      const body = stripUndefined(parsed.data);
      return call('bookings.create', 'POST', '/bookings', data(bookingSchema), { body, signal: opts.signal });
    },
    getBooking(uid: string, opts: CallOptions = {}): Promise<Booking> {
      return call('bookings.get', 'GET', `/bookings/${uidPath(uid)}`, data(bookingSchema), opts);
    },
    listBookings(
      filters: ListBookingsFilters,
      opts: CallOptions = {},
    ): Promise<{ bookings: Booking[]; pagination: Pagination }> {
      const query = {
        attendeeEmail: filters.attendeeEmail,
        eventTypeId: filters.eventTypeId,
        eventTypeIds: filters.eventTypeIds?.join(','),
        afterStart: filters.afterStart,
        beforeEnd: filters.beforeEnd,
        afterUpdatedAt: filters.afterUpdatedAt,
        beforeUpdatedAt: filters.beforeUpdatedAt,
        status: filters.status?.join(','),
        sortUpdatedAt: filters.sortUpdatedAt,
        sortStart: filters.sortStart,
        take: filters.take,
        skip: filters.skip,
      };
      return call(
        'bookings.list',
        'GET',
        '/bookings',
        bookingListSchema.transform((body) => ({ bookings: body.data, pagination: body.pagination })),
        { query, signal: opts.signal },
      );
    },
    /** Cal.com makes a new booking with a new uid and cancels the old one. */
    rescheduleBooking(
      uid: string,
      input: { start: string; reschedulingReason?: string | undefined; rescheduledBy?: string | undefined },
      opts: CallOptions = {},
    ): Promise<Booking> {
      const body = stripUndefined({
        start: input.start,
        reschedulingReason: input.reschedulingReason,
        rescheduledBy: input.rescheduledBy,
      });
      return call(
        'bookings.reschedule',
        'POST',
        `/bookings/${uidPath(uid)}/reschedule`,
        data(bookingSchema),
        {
          body,
          signal: opts.signal,
        },
      );
    },
    /** A reason is required when cancelling with the host's key. */
    cancelBooking(
      uid: string,
      input: { cancellationReason: string },
      opts: CallOptions = {},
    ): Promise<Booking> {
      const body = { cancellationReason: input.cancellationReason };
      return call('bookings.cancel', 'POST', `/bookings/${uidPath(uid)}/cancel`, data(bookingSchema), {
        body,
        signal: opts.signal,
      });
    },

    getMe(opts: CallOptions = {}): Promise<Me> {
      return call('me.get', 'GET', '/me', data(meSchema), opts);
    },
    /** Without `username` some Cal.com versions answer `[]`: take it from getMe(). */
    listEventTypes(input: { username: string }, opts: CallOptions = {}): Promise<EventType[]> {
      return call('eventTypes.list', 'GET', '/event-types', data(eventTypeList), {
        query: { username: input.username },
        signal: opts.signal,
      });
    },
    /** The teams the key's user belongs to. */
    listTeams(opts: CallOptions = {}): Promise<Team[]> {
      return call('teams.list', 'GET', '/teams', data(teamList), opts);
    },
    /** A team's members (up to `take`, 250 at most per page). */
    listTeamMemberships(
      teamId: number,
      input: { take?: number; skip?: number } = {},
      opts: CallOptions = {},
    ): Promise<TeamMembership[]> {
      return call('teams.memberships', 'GET', `/teams/${teamId}/memberships`, data(membershipList), {
        query: { take: input.take ?? 250, skip: input.skip ?? 0 },
        signal: opts.signal,
      });
    },
    createEventType(input: CreateEventTypeInput, opts: CallOptions = {}): Promise<EventType> {
      const body = stripUndefined({ ...input });
      return call('eventTypes.create', 'POST', '/event-types', data(eventTypeSchema), {
        body,
        signal: opts.signal,
      });
    },

    createWebhook(input: CreateWebhookInput, opts: CallOptions = {}): Promise<Webhook> {
      const body = stripUndefined({ ...input });
      return call('webhooks.create', 'POST', '/webhooks', data(webhookSchema), { body, signal: opts.signal });
    },
    listWebhooks(opts: CallOptions = {}): Promise<Webhook[]> {
      return call('webhooks.list', 'GET', '/webhooks', data(webhookList), opts);
    },
    updateWebhook(id: string, input: Partial<CreateWebhookInput>, opts: CallOptions = {}): Promise<Webhook> {
      const body = stripUndefined({ ...input });
      return call('webhooks.update', 'PATCH', `/webhooks/${encodeURIComponent(id)}`, data(webhookSchema), {
        body,
        signal: opts.signal,
      });
    },
    async deleteWebhook(id: string, opts: CallOptions = {}): Promise<void> {
      await call('webhooks.delete', 'DELETE', `/webhooks/${encodeURIComponent(id)}`, z.unknown(), opts);
    },
  };
}

function stripUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
