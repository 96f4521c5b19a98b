import { type Booking, type CalendarProvider, storedEventTypeId } from '@calgate/calendar';
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
