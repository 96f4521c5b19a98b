import { LocalCache } from '@calgate/cache';
import { eventTypeMappings } from '@calgate/db';
import { errorLogFields } from '@calgate/jobs';
import { utcDaysBetween } from '@calgate/time';
import { and, eq, isNull } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';
import { SERVICE_CACHE_MS } from '../services/catalog.ts';

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
      for (const id of await staffEventTypes(deps.db, change.staffId)) eventTypeIds.add(id);
    }
    const days = change.spans.flatMap((span) => utcDaysBetween(span.start, span.end));
    await deps.slotCache.invalidate(eventTypeIds, days);
  } catch (error) {
    // A stale cache costs a conflict at booking time, never a double booking: Cal.com decides.
    deps.logger.warn(errorLogFields(error).fields, 'availability cache invalidation failed');
  }
}

const staffTypes = new LocalCache<string, Promise<number[]>>({
  name: 'staff-event-types',
  ttlMs: SERVICE_CACHE_MS,
});

/**
 * The event types of a staff member, reused for `SERVICE_CACHE_MS` like service definitions (a
 * query fewer per booking). A mapping added meanwhile has no cached days from before it existed.
 */
function staffEventTypes(db: DomainDeps['db'], staffId: string): Promise<number[]> {
  return staffTypes.getOrSet(staffId, () =>
    db
      .select({ eventTypeId: eventTypeMappings.calcomEventTypeId })
      .from(eventTypeMappings)
      .where(and(eq(eventTypeMappings.staffId, staffId), isNull(eventTypeMappings.deletedAt)))
      .then((rows) => rows.map((row) => row.eventTypeId)),
  );
}
