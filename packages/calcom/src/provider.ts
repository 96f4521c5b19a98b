import type {
  Account,
  Booking,
  BookingUid,
  CalendarProvider,
  EventType,
  EventTypeId,
  Reservation,
  Team,
  TeamMember,
  UserId,
  Webhook,
  WebhookId,
} from '@calgate/calendar';
import { AppError } from '@calgate/errors';
import type { CalcomClient } from './client.ts';
import { isAlreadyCancelled } from './errors.ts';
import type * as calcom from './schemas.ts';

/*
 * The conversions between Cal.com's ids and the provider ids of `@calgate/calendar` live here and
 * nowhere else. Cal.com's numeric ids stay the same numbers at run time (a provider id is opaque
 * to the domain, not a different value), its string ids the same strings.
 */
const fromCalcom = <Id>(value: number): Id => value as unknown as Id;
const toCalcom = (id: unknown): number => {
  if (typeof id === 'number') return id;
  // Only an id this adapter handed out (or one stored from it) comes back; anything else is a bug.
  throw new AppError('INTERNAL', 'A Cal.com id must be a number', { retry: false });
};
const textId = <Id extends string>(value: string): Id => value as Id;

function booking(b: calcom.Booking): Booking {
  return {
    ...b,
    id: fromCalcom(b.id),
    uid: textId<BookingUid>(b.uid),
    eventTypeId: fromCalcom<EventTypeId>(b.eventTypeId),
    hosts: b.hosts.map((host) => ({
      ...host,
      id: host.id === undefined ? undefined : fromCalcom<UserId>(host.id),
    })),
    rescheduledFromUid: nullableUid(b.rescheduledFromUid),
    rescheduledToUid: nullableUid(b.rescheduledToUid),
  };
}

function nullableUid(uid: string | null | undefined): BookingUid | null | undefined {
  return typeof uid === 'string' ? textId<BookingUid>(uid) : uid;
}

function reservation(r: calcom.Reservation): Reservation {
  return { ...r, reservationUid: textId(r.reservationUid), eventTypeId: fromCalcom(r.eventTypeId) };
}

function eventType(t: calcom.EventType): EventType {
  return {
    ...t,
    id: fromCalcom(t.id),
    ownerId: typeof t.ownerId === 'number' ? fromCalcom<UserId>(t.ownerId) : t.ownerId,
  };
}

function account(me: calcom.Me): Account {
  return { ...me, id: fromCalcom(me.id) };
}

function team(t: calcom.Team): Team {
  return { ...t, id: fromCalcom(t.id) };
}

function member(m: calcom.TeamMembership): TeamMember {
  return { ...m, userId: fromCalcom(m.userId), teamId: fromCalcom(m.teamId) };
}

function webhook(w: calcom.Webhook): Webhook {
  return { ...w, id: textId<WebhookId>(w.id) };
}

function eventTypeIds(ids: readonly EventTypeId[]): number[] {
  return ids.map(toCalcom);
}

/**
 * The Cal.com client behind the `CalendarProvider` port: the domain's calls mapped onto Cal.com v2
 * operations, Cal.com's ids turned into provider ids and back.
 */
export function calcomCalendarProvider(client: CalcomClient): CalendarProvider {
  return {
    getSlots(query, options) {
      return client.getSlots({ ...query, eventTypeId: toCalcom(query.eventTypeId) }, options);
    },
    async reserveSlot(input, options) {
      return reservation(
        await client.reserveSlot({ ...input, eventTypeId: toCalcom(input.eventTypeId) }, options),
      );
    },
    deleteReservation(uid, options) {
      return client.deleteReservation(uid, options);
    },

    async createBooking(input, options) {
      // The language is checked against Cal.com's list by the client before anything is sent.
      const body = { ...input, eventTypeId: toCalcom(input.eventTypeId) } as calcom.CreateBookingInput;
      return booking(await client.createBooking(body, options));
    },
    async getBooking(uid, options) {
      return booking(await client.getBooking(uid, options));
    },
    async rescheduleBooking(uid, input, options) {
      return booking(await client.rescheduleBooking(uid, input, options));
    },
    async cancelBooking(uid, input, options) {
      return booking(await client.cancelBooking(uid, input, options));
    },
    isAlreadyCancelled,
    async findBookingsByMetadata(query, options) {
      const { bookings } = await client.listBookings(
        {
          ...(query.attendeeEmail === undefined ? {} : { attendeeEmail: query.attendeeEmail }),
          eventTypeIds: eventTypeIds(query.eventTypeIds),
          afterStart: query.from,
          beforeEnd: query.to,
          take: 100,
        },
        options,
      );
      const wanted = Object.entries(query.metadata);
      return bookings
        .filter(
          (b) => b.status !== 'cancelled' && wanted.every(([key, value]) => b.metadata?.[key] === value),
        )
        .map(booking);
    },
    async listChangedBookings(query, options) {
      const { bookings, pagination } = await client.listBookings(
        {
          ...(query.eventTypeIds === undefined ? {} : { eventTypeIds: eventTypeIds(query.eventTypeIds) }),
          afterUpdatedAt: query.updatedAfter,
          sortUpdatedAt: 'asc',
          take: query.take,
          skip: query.skip,
        },
        options,
      );
      return {
        bookings: bookings.map(booking),
        totalItems: pagination.totalItems,
        hasNextPage: pagination.hasNextPage,
      };
    },

    async getMe(options) {
      return account(await client.getMe(options));
    },
    async listEventTypes(input, options) {
      return (await client.listEventTypes(input, options)).map(eventType);
    },
    async createEventType(input, options) {
      return eventType(await client.createEventType(input, options));
    },
    async listTeams(options) {
      return (await client.listTeams(options)).map(team);
    },
    async listTeamMemberships(teamId, page, options) {
      return (await client.listTeamMemberships(toCalcom(teamId), page, options)).map(member);
    },

    async listWebhooks(options) {
      return (await client.listWebhooks(options)).map(webhook);
    },
    async createWebhook(input, options) {
      return webhook(await client.createWebhook(input, options));
    },
    async updateWebhook(id, input, options) {
      return webhook(await client.updateWebhook(id, input, options));
    },
    deleteWebhook(id, options) {
      return client.deleteWebhook(id, options);
    },
  };
}
