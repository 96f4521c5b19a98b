import { randomBytes, randomUUID } from 'node:crypto';
import { shape1, shape2 } from './errors.ts';
import { gridStarts, isOnGrid } from './slots.ts';
import type {
  SandboxAttendee,
  SandboxBooking,
  SandboxEventType,
  SandboxReservation,
  SandboxSeed,
  SandboxTeam,
  SandboxUser,
  WebhookSubscription,
} from './types.ts';

const UID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789';

/** A uid in the style of Cal.com's (22 characters). */
export function newUid(): string {
  let uid = '';
  for (const byte of randomBytes(22)) uid += UID_ALPHABET[byte % UID_ALPHABET.length];
  return uid;
}

/** Cal.com's confirmation policy, at booking time: does this booking wait for the host? */
export function needsConfirmation(eventType: SandboxEventType, start: number, now: number): boolean {
  const policy = eventType.confirmationPolicy;
  if (policy === undefined) return false;
  if (policy.type === 'always') return true;
  const threshold = policy.noticeThreshold;
  if (threshold === undefined) return true;
  const ms = threshold.count * (threshold.unit === 'hours' ? 3_600_000 : 60_000);
  return start - now < ms;
}

export type BookingChange =
  | { kind: 'created'; booking: SandboxBooking }
  /** The host confirmed (`accepted`) or declined (`rejected`) a pending booking. */
  | { kind: 'confirmed'; booking: SandboxBooking }
  | { kind: 'rejected'; booking: SandboxBooking }
  | { kind: 'rescheduled'; booking: SandboxBooking; previous: SandboxBooking }
  | { kind: 'cancelled'; booking: SandboxBooking };

export interface NewBooking {
  eventTypeId: number;
  start: number;
  attendee: SandboxAttendee;
  guests?: string[];
  metadata?: Record<string, string>;
  location?: string;
  bookingFieldsResponses?: Record<string, unknown>;
}

/**
 * Everything the sandbox holds, and Cal.com's rules over it: who is free when, what may be
 * booked, what a reschedule and a cancel do. HTTP concerns live elsewhere.
 */
export class SandboxStore {
  users = new Map<number, SandboxUser>();
  usersByKey = new Map<string, SandboxUser>();
  eventTypes = new Map<number, SandboxEventType>();
  teams = new Map<number, SandboxTeam>();
  bookings = new Map<string, SandboxBooking>();
  reservations = new Map<string, SandboxReservation>();
  subscriptions = new Map<string, WebhookSubscription>();
  /** Creates in flight per host: a second create for an overlapping time loses with 409. */
  holds = new Map<number, Array<{ start: number; end: number }>>();
  onChange: (change: BookingChange) => void = () => {};
  readonly now: () => number;
  #nextBookingId = 9_100_000;

  constructor(seed: SandboxSeed, now: () => number = Date.now) {
    this.now = now;
    this.reset(seed);
  }

  reset(seed: SandboxSeed): void {
    this.users = new Map(seed.users.map((u) => [u.id, { ...u }]));
    this.usersByKey = new Map(seed.users.map((u) => [u.apiKey, u]));
    this.eventTypes = new Map(seed.eventTypes.map((e) => [e.id, { ...e }]));
    this.teams = new Map((seed.teams ?? []).map((t) => [t.id, { ...t, memberIds: [...t.memberIds] }]));
    this.bookings.clear();
    this.reservations.clear();
    this.subscriptions.clear();
    this.holds.clear();
  }

  eventType(id: number, path: string): SandboxEventType {
    const found = this.eventTypes.get(id);
    if (found === undefined) throw shape1(404, path, `Event type with id ${id} not found.`);
    return found;
  }

  hostsOf(eventType: SandboxEventType): SandboxUser[] {
    return (eventType.hostIds ?? [eventType.ownerId])
      .map((id) => this.users.get(id))
      .filter((u): u is SandboxUser => u !== undefined);
  }

  /**
   * Is the host free for [start, end), ignoring one booking (the one being rescheduled)? Live
   * reservations count for the slots answer only: Cal.com's booking call does not look at them
   * ("a reservation has lower priority than the actual booking"), so `ignoreReservations` there.
   */
  isHostFree(
    hostId: number,
    start: number,
    end: number,
    options: { ignoreUid?: string; ignoreReservations?: boolean } = {},
  ) {
    for (const booking of this.bookings.values()) {
      if (booking.hostId !== hostId || booking.uid === options.ignoreUid) continue;
      if (booking.status === 'cancelled' || booking.status === 'rejected') continue;
      if (booking.status === 'pending' && !this.#pendingBlocks(booking)) continue;
      if (booking.start < end && start < booking.end) return false;
    }
    if (options.ignoreReservations === true) return true;
    const now = this.now();
    for (const reservation of this.reservations.values()) {
      if (reservation.hostId !== hostId || reservation.until <= now) continue;
      if (reservation.slotStart < end && start < reservation.slotEnd) return false;
    }
    return true;
  }

  #pendingBlocks(booking: SandboxBooking): boolean {
    return (
      this.eventTypes.get(booking.eventTypeId)?.confirmationPolicy?.blockUnconfirmedBookingsInBooker ?? true
    );
  }

  #isHeld(hostId: number, start: number, end: number): boolean {
    return (this.holds.get(hostId) ?? []).some((h) => h.start < end && start < h.end);
  }

  /**
   * Free starts of an event type in [from, to), with the host free at each (first free host).
   * As in Cal.com, every live reservation of a host hides the overlapping starts from every API
   * caller, the one who reserved included (only Cal.com's own booking page, through its `uid`
   * cookie, sees its visitor's reservation), and expired reservations of this event type are
   * deleted on the way.
   */
  freeSlots(eventType: SandboxEventType, from: number, to: number): Array<{ start: number; hostId: number }> {
    const now = this.now();
    for (const [uid, reservation] of this.reservations) {
      if (reservation.eventTypeId === eventType.id && reservation.until <= now) this.reservations.delete(uid);
    }
    const notice = now + (eventType.minimumBookingNoticeMinutes ?? 0) * 60_000;
    const length = eventType.lengthInMinutes * 60_000;
    const byStart = new Map<number, number>();
    for (const host of this.hostsOf(eventType)) {
      for (const start of gridStarts(host, eventType, Math.max(from, notice), to)) {
        if (byStart.has(start)) continue;
        if (this.isHostFree(host.id, start, start + length)) byStart.set(start, host.id);
      }
    }
    return [...byStart.entries()].sort(([a], [b]) => a - b).map(([start, hostId]) => ({ start, hostId }));
  }

  /**
   * Picks a free host for a new booking and holds the time until `commit` or `release`, so a
   * concurrent create for the same slot gets Cal.com's 409 race answer.
   */
  hold(eventType: SandboxEventType, start: number, path: string, ignoreUid?: string) {
    const end = start + eventType.lengthInMinutes * 60_000;
    if (start < this.now() + (eventType.minimumBookingNoticeMinutes ?? 0) * 60_000) {
      throw shape1(400, path, 'Attempting to book a meeting in the past.');
    }
    const hosts = this.hostsOf(eventType).filter((h) => isOnGrid(h, eventType, start));
    if (hosts.length === 0) {
      throw shape2(400, 'User either already has booking at this time or is not available');
    }
    const free = hosts.filter((h) =>
      this.isHostFree(h.id, start, end, { ignoreUid, ignoreReservations: true }),
    );
    if (free.length === 0)
      throw shape2(400, 'User either already has booking at this time or is not available');
    const host = free.find((h) => !this.#isHeld(h.id, start, end));
    if (host === undefined) {
      throw shape1(409, path, 'A booking for this time is being made right now', 'booking_conflict_error');
    }
    const entry = { start, end };
    const list = this.holds.get(host.id) ?? [];
    list.push(entry);
    this.holds.set(host.id, list);
    const release = () => {
      const current = this.holds.get(host.id) ?? [];
      this.holds.set(
        host.id,
        current.filter((h) => h !== entry),
      );
    };
    return { host, end, release };
  }

  /**
   * @param fromUid the booking this one reschedules
   * @param byUserId who reschedules it (the API key's user): the host's own reschedule is accepted
   *   at once, as Cal.com confirms an organizer's reschedule by default
   */
  createBooking(input: NewBooking, hostId: number, fromUid?: string, byUserId?: number): SandboxBooking {
    const eventType = this.eventTypes.get(input.eventTypeId);
    if (eventType === undefined) throw new Error('event type vanished');
    const now = this.now();
    const previous = fromUid === undefined ? undefined : this.bookings.get(fromUid);
    const uid = newUid();
    const booking: SandboxBooking = {
      id: this.#nextBookingId++,
      uid,
      eventTypeId: eventType.id,
      hostId,
      title: `${eventType.title} between ${this.users.get(hostId)?.name ?? 'host'} and ${input.attendee.name}`,
      // Cal.com's booking description is the attendee's "Additional notes" (the `notes` response).
      description:
        typeof input.bookingFieldsResponses?.notes === 'string'
          ? input.bookingFieldsResponses.notes
          : (eventType.description ?? ''),
      status:
        needsConfirmation(eventType, input.start, now) && !(fromUid !== undefined && byUserId === hostId)
          ? 'pending'
          : 'accepted',
      start: input.start,
      end: input.start + eventType.lengthInMinutes * 60_000,
      attendees: [input.attendee],
      guests: input.guests ?? [],
      location: input.location ?? 'integrations:daily',
      metadata: input.metadata ?? {},
      bookingFieldsResponses: input.bookingFieldsResponses ?? {},
      cancellationReason: null,
      cancelledByEmail: null,
      rejectionReason: null,
      reschedulingReason: null,
      rescheduledFromUid: fromUid ?? null,
      rescheduledToUid: null,
      iCalUid: previous?.iCalUid ?? `${uid}@Cal.com`,
      iCalSequence: previous === undefined ? 0 : previous.iCalSequence + 1,
      createdAt: now,
      updatedAt: now,
    };
    this.bookings.set(booking.uid, booking);
    return booking;
  }

  booking(uid: string, path: string): SandboxBooking {
    const found = this.bookings.get(uid);
    if (found === undefined) throw shape1(404, path, `Booking with uid=${uid} not found`);
    return found;
  }

  /** The host's answer to a pending booking: confirmed (`accepted`) or declined (`rejected`). */
  decide(uid: string, accept: boolean, reason: string | null, path: string): SandboxBooking {
    const booking = this.booking(uid, path);
    if (booking.status !== 'pending') throw shape1(400, path, `Booking with uid=${uid} is not pending`);
    booking.status = accept ? 'accepted' : 'rejected';
    booking.rejectionReason = accept ? null : reason;
    booking.updatedAt = this.now();
    this.onChange({ kind: accept ? 'confirmed' : 'rejected', booking });
    return booking;
  }

  cancel(uid: string, reason: string, byEmail: string | null, path: string): SandboxBooking {
    const booking = this.booking(uid, path);
    if (booking.status === 'cancelled') throw shape1(400, path, 'This booking has been cancelled already.');
    booking.status = 'cancelled';
    booking.iCalSequence++;
    booking.cancellationReason = reason;
    booking.cancelledByEmail = byEmail;
    booking.updatedAt = this.now();
    this.onChange({ kind: 'cancelled', booking });
    return booking;
  }

  /**
   * Cal.com's reservation rules (SlotsService_2024_09_04): 422 when an accepted or pending booking
   * of the same event type overlaps, or a live reservation of the same event type does (an update
   * is checked against every live reservation, its own included, as Cal.com does). Nothing else is
   * checked: not working hours, not the host's other event types. The reservation belongs to the
   * event type's first host, and hides that host's overlapping slots (see `freeSlots`).
   */
  reserve(
    eventType: SandboxEventType,
    slotStart: number,
    durationMin: number,
    reservationMin: number,
    owner: string,
    path: string,
  ): SandboxReservation {
    const end = slotStart + durationMin * 60_000;
    const now = this.now();
    for (const booking of this.bookings.values()) {
      if (booking.eventTypeId !== eventType.id) continue;
      if (booking.status !== 'accepted' && booking.status !== 'pending') continue;
      if (booking.start < end && slotStart < booking.end) {
        throw shape1(422, path, "Can't reserve a slot if the event is already booked.");
      }
    }
    for (const other of this.reservations.values()) {
      if (other.eventTypeId !== eventType.id || other.until <= now) continue;
      if (other.slotStart < end && slotStart < other.slotEnd) {
        throw shape1(
          422,
          path,
          'This time slot is already reserved by another user. Please choose a different time.',
        );
      }
    }
    const host = this.hostsOf(eventType)[0];
    if (host === undefined)
      throw shape1(400, path, 'Cannot reserve a slot for a team event without any hosts');
    return {
      uid: randomUUID(),
      eventTypeId: eventType.id,
      hostId: host.id,
      owner,
      slotStart,
      slotEnd: end,
      until: now + reservationMin * 60_000,
      reservationMinutes: reservationMin,
    };
  }

  /** Bookings an account may see: of event types it owns or hosts. */
  visibleTo(user: SandboxUser): SandboxBooking[] {
    return [...this.bookings.values()].filter((b) => {
      const et = this.eventTypes.get(b.eventTypeId);
      return et !== undefined && (et.ownerId === user.id || b.hostId === user.id);
    });
  }
}
