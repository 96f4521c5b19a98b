import type { SandboxContext } from './context.ts';
import { bookingOutput } from './output.ts';
import type { SandboxRandom } from './random.ts';
import type { FaultBook, RateLimiter, RequestLog } from './traffic.ts';
import type {
  FaultSpec,
  RequestLogEntry,
  SandboxBooking,
  SandboxEventType,
  SandboxSeed,
  SandboxTeam,
} from './types.ts';

/** Drives and inspects the sandbox from tests, in process or over `/_sandbox/*`. */
export interface SandboxControl {
  /** Back to the seed data, no faults, no drops; the random streams start again from their seed. */
  reset(seed?: SandboxSeed): void;
  injectFault(fault: FaultSpec): void;
  /** Starts the decisions of faults and drops with a probability again from `seed`. */
  setRandomSeed(seed: number): void;
  clearFaults(): void;
  setLatency(ms: number): void;
  setRateLimit(perMinute: number, blockSeconds?: number): void;
  /** Drop the next `count` webhook deliveries, or each with `probability`. */
  setWebhookDrop(policy: { count?: number; probability?: number }): void;
  /**
   * Every booking made since the last reset, cancelled and rescheduled-away ones included (Cal.com
   * keeps them too): a booking is never removed, so this counts all bookings ever made.
   */
  bookings(): SandboxBooking[];
  requests(since?: number): RequestLogEntry[];
  state(): Record<string, unknown>;
  flushWebhooks(): Promise<void>;
  /** Changes made "directly in Cal.com" (its UI), firing the same webhooks. */
  createBookingDirect(input: {
    eventTypeId: number;
    start: string;
    /** A phone-only attendee carries Cal.com's placeholder email `<digits>@sms.cal.com`. */
    attendee: { name: string; email: string; timeZone: string; phoneNumber?: string };
    metadata?: Record<string, string>;
  }): SandboxBooking;
  cancelBookingDirect(uid: string, reason: string): SandboxBooking;
  /** The host confirms a pending booking in Cal.com (webhook `BOOKING_CREATED`). */
  confirmBookingDirect(uid: string): SandboxBooking;
  /** The host declines a pending booking in Cal.com (webhook `BOOKING_REJECTED`). */
  declineBookingDirect(uid: string, reason: string): SandboxBooking;
  /**
   * Moved in Cal.com's UI: by the attendee (an event type that needs confirmation asks the host
   * again), or with `byHost` by the host (accepted at once).
   */
  rescheduleBookingDirect(uid: string, start: string, byHost?: boolean): SandboxBooking;
  addEventType(eventType: SandboxEventType): void;
  /** A team (or its new member list), as made in Cal.com's UI. */
  addTeam(team: SandboxTeam): void;
  deleteEventType(id: number): void;
}

export function createControl(
  ctx: SandboxContext,
  parts: {
    faults: FaultBook;
    limiter: RateLimiter;
    log: RequestLog;
    seed: SandboxSeed;
    random: SandboxRandom;
  },
): SandboxControl {
  const { store, dispatcher } = ctx;
  const path = '/_sandbox';
  return {
    reset(seed) {
      store.reset(seed ?? parts.seed);
      parts.faults.clear();
      parts.limiter.reset();
      parts.log.clear();
      dispatcher.deliveries.length = 0;
      dispatcher.drop = { count: 0, probability: 0 };
      parts.random.reseed(parts.random.seed);
      ctx.latencyMs = 0;
    },
    injectFault: (fault) => parts.faults.add(fault),
    setRandomSeed: (seed) => parts.random.reseed(seed),
    clearFaults: () => parts.faults.clear(),
    setLatency(ms) {
      ctx.latencyMs = ms;
    },
    setRateLimit(perMinute, blockSeconds) {
      parts.limiter.limit = perMinute;
      if (blockSeconds !== undefined) parts.limiter.blockMs = blockSeconds * 1000;
      parts.limiter.reset();
    },
    setWebhookDrop(policy) {
      dispatcher.drop = { count: policy.count ?? 0, probability: policy.probability ?? 0 };
    },
    bookings: () => [...store.bookings.values()],
    requests: (since = 0) => parts.log.since(since),
    state: () => ({
      randomSeed: parts.random.seed,
      bookings: [...store.bookings.values()].map((b) => bookingOutput(store, b)),
      reservations: [...store.reservations.values()],
      subscriptions: [...store.subscriptions.values()].map(({ secret, ...rest }) => ({
        ...rest,
        hasSecret: secret !== null,
      })),
      deliveries: dispatcher.deliveries,
      eventTypes: [...store.eventTypes.values()],
      teams: [...store.teams.values()],
    }),
    flushWebhooks: () => dispatcher.flush(),
    createBookingDirect(input) {
      const eventType = store.eventType(input.eventTypeId, path);
      const held = store.hold(eventType, Date.parse(input.start), path);
      held.release();
      const booking = store.createBooking(
        {
          eventTypeId: eventType.id,
          start: Date.parse(input.start),
          attendee: input.attendee,
          metadata: input.metadata,
        },
        held.host.id,
      );
      store.onChange({ kind: 'created', booking });
      return booking;
    },
    cancelBookingDirect(uid, reason) {
      return store.cancel(uid, reason, null, path);
    },
    confirmBookingDirect(uid) {
      return store.decide(uid, true, null, path);
    },
    declineBookingDirect(uid, reason) {
      return store.decide(uid, false, reason, path);
    },
    rescheduleBookingDirect(uid, start, byHost = false) {
      const old = store.booking(uid, path);
      const held = store.hold(store.eventType(old.eventTypeId, path), Date.parse(start), path, uid);
      held.release();
      const [attendee] = old.attendees;
      if (attendee === undefined) throw new Error('booking has no attendee');
      const booking = store.createBooking(
        { eventTypeId: old.eventTypeId, start: Date.parse(start), attendee, metadata: old.metadata },
        held.host.id,
        uid,
        byHost ? held.host.id : undefined,
      );
      old.status = 'cancelled';
      old.rescheduledToUid = booking.uid;
      old.updatedAt = store.now();
      store.onChange({ kind: 'rescheduled', booking, previous: old });
      return booking;
    },
    addEventType(eventType) {
      store.eventTypes.set(eventType.id, { ...eventType });
    },
    addTeam(team) {
      store.teams.set(team.id, { ...team, memberIds: [...team.memberIds] });
    },
    deleteEventType(id) {
      store.eventTypes.delete(id);
    },
  };
}
