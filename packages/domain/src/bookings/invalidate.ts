import { eventTypeMappings } from '@calgate/db';
import { utcDaysBetween } from '@calgate/time';
import { and, eq, isNull } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';

/**
 * Forgets cached availability a booking change touched. Busy time in Cal.com belongs to the host,
 * not the event type, so every event type of that staff member is invalidated for the days spanned.
 */
export async function invalidateAvailability(
  deps: Pick<DomainDeps, 'db' | 'slotCache' | 'logger'>,
  change: { staffId: string | null; eventTypeIds?: number[]; spans: Array<{ start: Date; end: Date }> },
): Promise<void> {
  try {
    const eventTypeIds = new Set(change.eventTypeIds ?? []);
    if (change.staffId !== null) {
      const rows = await deps.db
        .select({ eventTypeId: eventTypeMappings.calcomEventTypeId })
        .from(eventTypeMappings)
        .where(and(eq(eventTypeMappings.staffId, change.staffId), isNull(eventTypeMappings.deletedAt)));
      for (const row of rows) eventTypeIds.add(row.eventTypeId);
    }
    const days = change.spans.flatMap((span) => utcDaysBetween(span.start, span.end));
    await deps.slotCache.invalidate(eventTypeIds, days);
  } catch (error) {
    // A stale cache costs a conflict at booking time, never a double booking: Cal.com decides.
    deps.logger.warn({ err: error }, 'availability cache invalidation failed');
  }
}
