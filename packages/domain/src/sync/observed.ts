import type { Booking, CalcomWebhook } from '@calgate/calcom';

/** What a Cal.com booking looks like now, seen through a webhook or the bookings list. */
export interface ObservedBooking {
  uid: string;
  bookingId: number | null;
  eventTypeId: number | null;
  start: Date;
  end: Date;
  status: 'accepted' | 'pending' | 'cancelled' | 'rejected' | 'completed';
  metadata: Record<string, unknown>;
  attendee: { name: string; email: string; timeZone: string | null } | null;
  organizerUserId: number | null;
  /** The booking this one replaced (a reschedule). */
  fromUid: string | null;
  /** The booking that replaced this one: the change is carried by that one. */
  toUid: string | null;
  icalUid: string | null;
  sequence: number | null;
  cancellationReason: string | null;
}

/** The triggers we act on, and the booking status each one reports. */
const TRIGGER_STATUS: Record<string, ObservedBooking['status']> = {
  BOOKING_CREATED: 'accepted',
  BOOKING_RESCHEDULED: 'accepted',
  BOOKING_CANCELLED: 'cancelled',
  BOOKING_REQUESTED: 'pending',
  BOOKING_REJECTED: 'rejected',
  MEETING_ENDED: 'completed',
};

export const HANDLED_TRIGGERS = Object.keys(TRIGGER_STATUS);

function validDate(value: string): Date | undefined {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A webhook as an observation, or a reason why it carries none we act on. */
export function observeWebhook(webhook: CalcomWebhook): ObservedBooking | { ignored: string } {
  const status = TRIGGER_STATUS[webhook.trigger];
  if (status === undefined) return { ignored: `trigger ${webhook.trigger} is not handled` };
  const b = webhook.booking;
  if (b === null) return { ignored: `${webhook.trigger} without booking fields` };
  const start = validDate(b.start);
  const end = validDate(b.end);
  if (start === undefined || end === undefined || end <= start) {
    return { ignored: `${webhook.trigger} with unusable startTime/endTime` };
  }
  const attendee = b.attendees.find((a) => a.email !== null && a.email !== '');
  return {
    uid: b.uid,
    bookingId: b.bookingId,
    eventTypeId: b.eventTypeId,
    start,
    end,
    status,
    metadata: b.metadata,
    attendee:
      attendee === undefined
        ? null
        : {
            name: attendee.name || (attendee.email as string),
            email: attendee.email as string,
            timeZone: attendee.timeZone,
          },
    organizerUserId: b.organizerId,
    fromUid: webhook.trigger === 'BOOKING_RESCHEDULED' ? b.rescheduleUid : null,
    toUid: null,
    icalUid: b.iCalUid,
    sequence: b.iCalSequence,
    cancellationReason: b.cancellationReason,
  };
}

const API_STATUS: Record<string, ObservedBooking['status']> = {
  accepted: 'accepted',
  pending: 'pending',
  cancelled: 'cancelled',
  rejected: 'rejected',
};

/** A booking from `GET /v2/bookings` as an observation (no sequence: it is the current state). */
export function observeApiBooking(booking: Booking): ObservedBooking | { ignored: string } {
  const status = API_STATUS[booking.status];
  if (status === undefined) return { ignored: `status ${booking.status} is not handled` };
  const start = validDate(booking.start);
  const end = validDate(booking.end);
  if (start === undefined || end === undefined || end <= start) return { ignored: 'unusable start/end' };
  const attendee = booking.attendees[0];
  const host = booking.hosts[0];
  return {
    uid: booking.uid,
    bookingId: booking.id,
    eventTypeId: booking.eventTypeId,
    start,
    end,
    status,
    metadata: booking.metadata ?? {},
    attendee:
      attendee === undefined
        ? null
        : { name: attendee.name || attendee.email, email: attendee.email, timeZone: attendee.timeZone },
    organizerUserId: host?.id ?? null,
    fromUid: booking.rescheduledFromUid ?? null,
    toUid: booking.rescheduledToUid ?? null,
    icalUid: booking.icsUid ?? null,
    sequence: null,
    cancellationReason: booking.cancellationReason ?? null,
  };
}
