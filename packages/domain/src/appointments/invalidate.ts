import { LocalCache } from '@calgate/cache';
import { eventTypeMappings } from '@calgate/db';
import { errorLogFields } from '@calgate/jobs';
import { utcDaysBetween } from '@calgate/time';
import { and, inArray, isNull, sql } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';
import { SERVICE_CACHE_MS } from '../services/catalog.ts';

/** The cached days a booking change made stale: event types and UTC days. */
export interface StaleAvailability {
  eventTypeIds: Set<number>;
  days: string[];
}

/** How long a bookable slot may be (an event type's length): a salon's or a clinic's longest. */
const LONGEST_SLOT_MS = 8 * 3_600_000;

type InvalidateDeps = Pick<DomainDeps, 'db' | 'slotCache' | 'logger'>;
type AvailabilityChange = {
  staffId: string | null;
  eventTypeIds?: number[];
  spans: Array<{ start: Date; end: Date }>;
};

/**
 * Forgets cached availability a booking change touched. Busy time in Cal.com belongs to the host,
 * not the event type, so every event type of that staff member is invalidated for the days spanned.
 */
export async function invalidateAvailability(
  deps: InvalidateDeps,
  change: AvailabilityChange,
): Promise<void> {
  const stale = await staleAvailability(deps, change);
  if (stale === undefined) return;
  try {
    await deps.slotCache.invalidate(stale.eventTypeIds, stale.days);
  } catch (error) {
    warnStale(deps, error);
  }
}

/** What `invalidateAvailability` forgets, worked out without forgetting it (undefined: nothing known). */
export async function staleAvailability(
  deps: InvalidateDeps,
  change: AvailabilityChange,
): Promise<StaleAvailability | undefined> {
  try {
    const eventTypeIds = new Set(change.eventTypeIds ?? []);
    if (change.staffId !== null) {
      for (const id of await staffEventTypes(deps.db, change.staffId)) eventTypeIds.add(id);
    }
    // A slot is cached under the UTC day it starts on: one that starts the day before and runs
    // into the change (a booking just after UTC midnight, evening in the Americas) is stale too.
    const days = change.spans.flatMap((span) =>
      utcDaysBetween(new Date(span.start.getTime() - LONGEST_SLOT_MS), span.end),
    );
    return { eventTypeIds, days: [...new Set(days)] };
  } catch (error) {
    warnStale(deps, error);
    return undefined;
  }
}

/**
 * Forgets `stale` and tells waiting requests that the appointment changed (to `status`), in one
 * round trip to Redis; the invalidation runs first, so a caller woken by the notice does not read
 * the slot it just took from the cache.
 */
export async function invalidateAndAnnounce(
  deps: InvalidateDeps & Pick<DomainDeps, 'outcomes'>,
  stale: StaleAvailability | undefined,
  appointmentId: string,
  status?: string,
): Promise<void> {
  await deps.outcomes.publishAfter(
    (pipeline) => {
      if (stale !== undefined) deps.slotCache.invalidateIn(pipeline, stale.eventTypeIds, stale.days);
    },
    (error) => warnStale(deps, error),
    appointmentId,
    status,
  );
}

// A stale cache costs a conflict at booking time, never a double booking: Cal.com decides.
function warnStale(deps: InvalidateDeps, error: unknown): void {
  deps.logger.warn(errorLogFields(error).fields, 'availability cache invalidation failed');
}

const staffTypes = new LocalCache<string, Promise<number[]>>({
  name: 'staff-event-types',
  ttlMs: SERVICE_CACHE_MS,
});

/**
 * The event types of a staff member's person: this staff row's and those of every staff row of the
 * same Cal.com user (companies sharing a Cal.com account may each list the same stylist, whose
 * busy time is one). Reused for `SERVICE_CACHE_MS` like service definitions (a query fewer per
 * booking). A mapping added meanwhile has no cached days from before it existed.
 */
function staffEventTypes(db: DomainDeps['db'], staffId: string): Promise<number[]> {
  return staffTypes.getOrSet(staffId, () =>
    db
      .selectDistinct({ eventTypeId: eventTypeMappings.calcomEventTypeId })
      .from(eventTypeMappings)
      .where(
        and(
          isNull(eventTypeMappings.deletedAt),
          // This staff row and the others of its Cal.com user (by the partial index on it).
          inArray(
            eventTypeMappings.staffId,
            sql`(select ${staffId}::text union select other.id from staff other
              where other.calcom_user_id = (select me.calcom_user_id from staff me where me.id = ${staffId}))`,
          ),
        ),
      )
      .then((rows) => rows.map((row) => row.eventTypeId)),
  );
}
