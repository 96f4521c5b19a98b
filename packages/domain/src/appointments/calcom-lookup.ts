import { type Booking, type BookingUid, type CalendarProvider, storedEventTypeId } from '@calgate/calendar';
import { isAppError } from '@calgate/errors';
import { METADATA_KEY } from './metadata.ts';

/**
 * Finds the live Cal.com booking that carries our id in its metadata — the check before a retried
 * create is sent again, so a create whose answer was lost is adopted instead of duplicated.
 */
export async function findBookingByMetadata(
  client: CalendarProvider,
  query: {
    ourId: string;
    /** Narrows the search; a phone-only customer has none (Cal.com gave it a placeholder). */
    attendeeEmail: string | undefined;
    start: Date;
    end: Date;
    eventTypeIds: number[];
  },
  signal?: AbortSignal,
): Promise<Booking | undefined> {
  const [found] = await client.findBookingsByMetadata(
    {
      metadata: { [METADATA_KEY]: query.ourId },
      attendeeEmail: query.attendeeEmail,
      eventTypeIds: query.eventTypeIds.map(storedEventTypeId),
      from: new Date(query.start.getTime() - 60_000).toISOString(),
      to: new Date(query.end.getTime() + 24 * 3600_000).toISOString(),
    },
    { signal },
  );
  return found;
}

/**
 * Cancels a booking in the calendar; one that is cancelled already, or gone, counts as done (a
 * retried cancel, or a booking removed in Cal.com meanwhile). Other errors are thrown as they are.
 */
export async function cancelInCalendar(
  client: CalendarProvider,
  uid: BookingUid,
  reason: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await client.cancelBooking(uid, { cancellationReason: reason }, { signal });
  } catch (error) {
    const gone =
      client.isAlreadyCancelled(error) || (isAppError(error) && error.code === 'BOOKING_NOT_FOUND');
    if (!gone) throw error;
  }
}
