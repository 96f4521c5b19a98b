import type { Booking, CalcomClient } from '@calgate/calcom';

/** The metadata key that ties a Cal.com booking to our appointment (or segment). */
export const METADATA_KEY = 'calgateId';

/**
 * Finds the live Cal.com booking that carries our id in its metadata — the check before a retried
 * create is sent again, so a create whose answer was lost is adopted instead of duplicated.
 */
export async function findBookingByMetadata(
  client: CalcomClient,
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
  const { bookings } = await client.listBookings(
    {
      ...(query.attendeeEmail === undefined ? {} : { attendeeEmail: query.attendeeEmail }),
      eventTypeIds: query.eventTypeIds,
      afterStart: new Date(query.start.getTime() - 60_000).toISOString(),
      beforeEnd: new Date(query.end.getTime() + 24 * 3600_000).toISOString(),
      take: 100,
    },
    { signal },
  );
  return bookings.find(
    (booking) => booking.metadata?.[METADATA_KEY] === query.ourId && booking.status !== 'cancelled',
  );
}
