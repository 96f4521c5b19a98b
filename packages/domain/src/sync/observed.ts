import type { CalcomWebhook } from '@calgate/calcom';
import { type Booking, storableId } from '@calgate/calendar';
import { type ObservedStatus, TRIGGER_STATUS } from '../accounts/webhook-triggers.ts';

/** What a Cal.com booking looks like now, seen through a webhook or the bookings list. */
export interface ObservedBooking {
  uid: string;
  bookingId: number | null;
  eventTypeId: number | null;
  start: Date;
  end: Date;
  status: ObservedStatus;
  metadata: Record<string, unknown>;
  /** The customer: an email, or for a phone-only booking (Cal.com's placeholder email) the phone. */
  attendee: { name: string; email: string | null; phone: string | null; timeZone: string | null } | null;
  organizerUserId: number | null;
  /** The booking this one replaced (a reschedule). */
  fromUid: string | null;
  /** The booking that replaced this one: the change is carried by that one. */
  toUid: string | null;
  icalUid: string | null;
  sequence: number | null;
  cancellationReason: string | null;
}

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
  const found = b.attendees.find((a) => a.email !== null && a.email !== '');
  const attendee =
    found === undefined
      ? null
      : contactOf(
          { name: found.name, email: found.email as string, phoneNumber: found.phoneNumber },
          found.timeZone,
        );
  return {
    uid: b.uid,
    bookingId: b.bookingId,
    eventTypeId: b.eventTypeId,
    start,
    end,
    status,
    metadata: b.metadata,
    attendee,
    organizerUserId: b.organizerId,
    // A reschedule that needs the host's confirmation arrives as BOOKING_REQUESTED.
    fromUid:
      webhook.trigger === 'BOOKING_RESCHEDULED' || webhook.trigger === 'BOOKING_REQUESTED'
        ? b.rescheduleUid
        : null,
    toUid: null,
    icalUid: b.iCalUid,
    sequence: b.iCalSequence,
    cancellationReason: b.cancellationReason,
  };
}

/** The domain of the email Cal.com gives an attendee who booked with a phone number only. */
const PHONE_ONLY_EMAIL = /^(\d{7,15})@sms\.cal\.com$/i;

/**
 * The attendee as our customer. A phone-only attendee's placeholder email (`<digits>@sms.cal.com`)
 * is not an address anyone reads: the customer is then the phone alone, as if booked through us.
 */
function contactOf(
  attendee: { name: string | null; email: string; phoneNumber?: string | null | undefined },
  timeZone: string | null,
): NonNullable<ObservedBooking['attendee']> {
  const placeholder = PHONE_ONLY_EMAIL.exec(attendee.email);
  const phone = attendee.phoneNumber ?? (placeholder === null ? null : `+${placeholder[1]}`);
  return {
    name: attendee.name || (placeholder === null ? attendee.email : (phone ?? attendee.email)),
    email: placeholder === null ? attendee.email : null,
    phone: phone === null || phone === '' ? null : phone,
    timeZone,
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
    bookingId: storableId(booking.id),
    eventTypeId: storableId(booking.eventTypeId),
    start,
    end,
    status,
    metadata: booking.metadata ?? {},
    attendee: attendee === undefined ? null : contactOf(attendee, attendee.timeZone),
    organizerUserId: host?.id === undefined ? null : storableId(host.id),
    fromUid: booking.rescheduledFromUid ?? null,
    toUid: booking.rescheduledToUid ?? null,
    icalUid: booking.icsUid ?? null,
    sequence: null,
    cancellationReason: booking.cancellationReason ?? null,
  };
}
