import { storedEventTypeId } from '@calgate/calendar';
import { syncState } from '@calgate/db';
import { and, eq } from 'drizzle-orm';
import { loadCompany } from '../accounts/companies.ts';
import { companyScope } from '../accounts/scope.ts';
import type { DomainDeps } from '../deps.ts';
import { type ApplyResult, applyObservedBooking } from './apply-booking.ts';
import { markFailed, markStarted } from './event-types.ts';
import { observeApiBooking } from './observed.ts';

/** Re-read a little before the cursor: clocks differ, and applying twice changes nothing. */
const OVERLAP_MS = 2 * 60_000;
/** The first run looks this far back. */
const FIRST_LOOKBACK_MS = 24 * 3600_000;
const PAGE = 100;
/** At most this many pages per run (the rest waits for the next run), to stay inside the budget. */
const MAX_PAGES = 20;

export interface ReconcileResult {
  seen: number;
  applied: number;
  unchanged: number;
  ignored: number;
  since: string;
  cursor: string;
  complete: boolean;
}

/**
 * Cal.com delivers each webhook once, without retries, so missed ones are caught here: bookings
 * changed since the last run (`afterUpdatedAt`) are applied through the same code as webhooks.
 */
export async function reconcileBookings(
  deps: DomainDeps,
  companyId: string,
  options: { onProgress?: (done: number, total: number) => void } = {},
): Promise<ReconcileResult> {
  const company = await loadCompany(deps, companyId);
  const [state] = await deps.db
    .select({ cursor: syncState.cursor })
    .from(syncState)
    .where(and(eq(syncState.companyId, companyId), eq(syncState.kind, 'bookings')))
    .limit(1);
  await markStarted(deps, companyId, 'bookings');
  const cursorMs = state?.cursor == null ? Number.NaN : Date.parse(state.cursor);
  const since = new Date(
    Number.isNaN(cursorMs) ? Date.now() - FIRST_LOOKBACK_MS : cursorMs - OVERLAP_MS,
  ).toISOString();
  const counts = { seen: 0, applied: 0, unchanged: 0, ignored: 0 };
  let newest = Number.isNaN(cursorMs) ? Date.parse(since) : cursorMs;
  let complete = false;
  try {
    const { client } = deps.calcom.forCompany(company);
    const scope = await companyScope(deps.db, companyId);
    // On the shared account only the company's own event types are asked for: another company's
    // bookings (and its customers) are never even fetched. Nothing assigned: nothing to ask.
    const filter =
      scope.kind === 'assigned' ? { eventTypeIds: scope.eventTypeIds.map(storedEventTypeId) } : {};
    // Pages by key, not by offset: each page starts at the last `updatedAt` read (Cal.com's filter
    // includes it), so a booking changed while the run pages moves to the end of the list instead
    // of shifting an unread one onto a page already read. Bookings read twice are applied once;
    // `skip` only steps over a page's worth of bookings that share one `updatedAt`.
    let boundary = since;
    let skip = 0;
    const read = new Set<string>();
    for (let page = 0; page < MAX_PAGES; page++) {
      if (scope.kind === 'assigned' && scope.eventTypeIds.length === 0) {
        complete = true;
        break;
      }
      const { bookings, totalItems, hasNextPage } = await client.listChangedBookings({
        ...filter,
        updatedAfter: boundary,
        take: PAGE,
        skip,
      });
      const last = bookings.at(-1)?.updatedAt;
      if (last !== undefined && last !== null && Date.parse(last) > Date.parse(boundary)) {
        boundary = new Date(Date.parse(last)).toISOString();
        skip = 0;
      } else skip += bookings.length;
      for (const booking of bookings) {
        const key = `${booking.uid} ${booking.updatedAt ?? ''}`;
        if (read.has(key)) continue;
        read.add(key);
        counts.seen++;
        const observed = observeApiBooking(booking);
        const result: ApplyResult =
          'ignored' in observed
            ? { outcome: 'ignored', detail: observed.ignored }
            : await applyObservedBooking(deps, observed, { companyId, actor: 'reconcile' });
        counts[result.outcome]++;
        if (result.outcome === 'applied') await deps.counters.increment('reconcile_applied');
        const updated = Date.parse(booking.updatedAt ?? '');
        if (!Number.isNaN(updated)) newest = Math.max(newest, updated);
      }
      options.onProgress?.(counts.seen, totalItems);
      if (!hasNextPage || bookings.length === 0) {
        complete = true;
        break;
      }
    }
    const cursor = new Date(newest).toISOString();
    const result: ReconcileResult = { ...counts, since, cursor, complete };
    await deps.db
      .update(syncState)
      .set({ cursor, lastSucceededAt: new Date(), lastError: null, stats: { ...result } })
      .where(and(eq(syncState.companyId, companyId), eq(syncState.kind, 'bookings')));
    deps.logger.info({ companyId, ...result }, 'bookings reconciled');
    return result;
  } catch (error) {
    await markFailed(deps, companyId, 'bookings', error);
    throw error;
  }
}
