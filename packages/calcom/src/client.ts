import http from 'node:http';
import https from 'node:https';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import got, { type Method, RequestError } from 'got';
import { z } from 'zod';
import { CalcomError, classifyCalcomError, parseErrorBody } from './errors.ts';
import { API_VERSIONS, type CalcomOperation, familyOf } from './operations.ts';
import { type RateLimitInfo, readRateLimit } from './rate-limit.ts';
import { keyFingerprint, redact } from './redact.ts';
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

export interface CalcomLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RequestContext {
  operation: CalcomOperation;
  keyFingerprint: string;
}

export interface ResponseContext extends RequestContext {
  status: number;
  durationMs: number;
  rateLimit: RateLimitInfo | undefined;
  error: CalcomError | undefined;
}

export interface CalcomClientOptions {
  /** e.g. https://api.cal.com/v2 */
  baseUrl: string;
  apiKey: string;
  /** cal-api-version of the bookings endpoints (CALCOM_API_VERSION). @defaultValue '2024-08-13' */
  bookingsApiVersion?: string;
  /** @defaultValue 30000 */
  timeoutMs?: number;
  logger: CalcomLogger;
  /** Log request and response bodies, redacted. @defaultValue false */
  debug?: boolean;
  /** Every request passes through these: the shared budget plugs in here, and metrics. */
  hooks?: {
    beforeRequest?(ctx: RequestContext, signal?: AbortSignal): Promise<void>;
    afterResponse?(ctx: ResponseContext): void;
  };
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

// One keep-alive pool per process, shared by every client.
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};
const tracer = trace.getTracer('@calgate/calcom');

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
 * The typed Cal.com API v2 client: one method per operation, the right `cal-api-version` per
 * family, answers parsed with zod, errors mapped to our codes. It never retries by itself —
 * BullMQ owns retries — and never logs the key.
 */
export function createCalcomClient(options: CalcomClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const fingerprint = keyFingerprint(options.apiKey);
  const bookingsVersion = options.bookingsApiVersion ?? '2024-08-13';
  const timeoutMs = options.timeoutMs ?? 30_000;
  let lastRateLimit: RateLimitInfo | undefined;

  function versionFor(operation: CalcomOperation): string | undefined {
    const family = familyOf(operation);
    if (family === 'bookings') return bookingsVersion;
    if (family === 'none') return undefined;
    return API_VERSIONS[family];
  }

  async function call<S extends z.ZodType>(
    operation: CalcomOperation,
    method: Method,
    path: string,
    schema: S,
    request: {
      query?: Record<string, string | number | undefined>;
      body?: unknown;
      signal?: AbortSignal | undefined;
    },
  ): Promise<z.infer<S>> {
    const ctx: RequestContext = { operation, keyFingerprint: fingerprint };
    await options.hooks?.beforeRequest?.(ctx, request.signal);
    return tracer.startActiveSpan(`calcom ${operation}`, { kind: SpanKind.CLIENT }, async (span) => {
      const started = performance.now();
      let status = 0;
      let rateLimit: RateLimitInfo | undefined;
      let failure: CalcomError | undefined;
      try {
        const version = versionFor(operation);
        const searchParams = Object.fromEntries(
          Object.entries(request.query ?? {}).filter(
            (entry): entry is [string, string | number] => entry[1] !== undefined,
          ),
        );
        span.setAttributes({
          'http.request.method': method,
          'url.path': `/v2${path}`,
          'calcom.operation': operation,
        });
        if (options.debug) {
          options.logger.debug(
            { operation, path, query: redact(searchParams), body: redact(request.body) },
            'calcom request',
          );
        }
        const response = await got(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${options.apiKey}`,
            accept: 'application/json',
            ...(version === undefined ? {} : { 'cal-api-version': version }),
          },
          searchParams,
          ...(request.body === undefined ? {} : { json: request.body }),
          responseType: 'text',
          throwHttpErrors: false,
          retry: { limit: 0 },
          timeout: { request: timeoutMs },
          agent: agents,
          signal: request.signal,
        });
        status = response.statusCode;
        rateLimit = readRateLimit(response.headers);
        if (rateLimit !== undefined) lastRateLimit = rateLimit;
        span.setAttribute('http.response.status_code', status);
        const json = parseJson(response.body);
        if (options.debug) options.logger.debug({ operation, status, body: redact(json) }, 'calcom response');
        if (status >= 400) {
          const parsed = parseErrorBody(json ?? response.body);
          const mapped = classifyCalcomError(operation, status, parsed);
          failure = new CalcomError(mapped.code, mapped.message, {
            operation,
            upstreamStatus: status,
            calcomCode: parsed.calcomCode,
            rateLimit,
            retry: mapped.retry,
            details: {
              upstreamStatus: status,
              upstreamMessage: parsed.message.slice(0, 500),
              // A 429 pauses the key until Cal.com's reset (no Retry-After; 60 s when absent).
              ...(status === 429 ? { retryAfterMs: (rateLimit?.resetSeconds || 60) * 1000 } : {}),
            },
          });
          throw failure;
        }
        const result = schema.safeParse(json);
        if (!result.success) {
          options.logger.error(
            {
              operation,
              status,
              issues: result.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
            },
            'calcom answer did not match the contract',
          );
          failure = new CalcomError(
            'UPSTREAM_ERROR',
            `Cal.com answered ${operation} in an unexpected shape`,
            {
              operation,
              upstreamStatus: status,
              retry: false,
            },
          );
          throw failure;
        }
        return result.data;
      } catch (error) {
        failure ??= toTransportError(operation, error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: failure.code });
        throw failure;
      } finally {
        const durationMs = Math.round(performance.now() - started);
        const entry = { operation, method, path, status, durationMs, key: fingerprint, code: failure?.code };
        if (failure === undefined) options.logger.debug(entry, 'calcom call');
        else options.logger.info(entry, 'calcom call failed');
        options.hooks?.afterResponse?.({ ...ctx, status, durationMs, rateLimit, error: failure });
        span.end();
      }
    });
  }

  const data = <S extends z.ZodType>(schema: S) => dataOf(schema);
  const uidPath = (uid: string) => encodeURIComponent(uid);

  return {
    get lastRateLimit(): RateLimitInfo | undefined {
      return lastRateLimit;
    },
    keyFingerprint: fingerprint,

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

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function stripUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/** Failures before any answer: timeouts, resets, refusals, aborts. All may be retried. */
function toTransportError(operation: CalcomOperation, error: unknown): CalcomError {
  if (error instanceof CalcomError) return error;
  const name = (error as { name?: string }).name;
  const code = (error as { code?: string }).code;
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    return new CalcomError('UPSTREAM_TIMEOUT', `Cal.com did not answer ${operation} in time`, {
      operation,
      retry: true,
      cause: error,
    });
  }
  if (name === 'AbortError' || code === 'ERR_ABORTED') {
    return new CalcomError('UPSTREAM_UNAVAILABLE', `${operation} was aborted`, {
      operation,
      retry: true,
      cause: error,
    });
  }
  if (error instanceof RequestError || (code !== undefined && UNAVAILABLE_CODES.has(code))) {
    return new CalcomError(
      'UPSTREAM_UNAVAILABLE',
      `Cal.com could not be reached (${code ?? 'network error'})`,
      {
        operation,
        retry: true,
        cause: error,
      },
    );
  }
  if (error instanceof Error && /aborted|abort/i.test(error.message)) {
    return new CalcomError('UPSTREAM_UNAVAILABLE', `${operation} was aborted`, {
      operation,
      retry: true,
      cause: error,
    });
  }
  return new CalcomError('INTERNAL', `Unexpected failure calling Cal.com ${operation}`, {
    operation,
    retry: true,
    cause: error,
  });
}
