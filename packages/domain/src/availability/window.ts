import { LocalCache } from '@calgate/cache';
import { AppError } from '@calgate/errors';
import { assertTimeZone, parseWindowBound } from '@calgate/time';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import type { DomainDeps } from '../deps.ts';
import type { SegmentStaffOption } from '../services/catalog.ts';

/** Longest window one availability request may ask for. */
export const MAX_WINDOW_DAYS = 31;

export interface AvailabilityWindow {
  readonly start: Date;
  readonly end: Date;
}

/** The bounds of an availability question, as the caller wrote them. */
export interface WindowQuery {
  start: string;
  end: string;
  timeZone: string;
}

/**
 * Validates the window and zone of an availability query.
 * @throws AppError INVALID_TIMEZONE or VALIDATION_FAILED naming the field.
 */
export function readWindow(query: WindowQuery): AvailabilityWindow {
  const key = `${query.start}|${query.end}|${query.timeZone}`;
  return windows.getOrSet(key, () => parseWindow(query));
}

/** Windows already read (a pure function of the query): the same question is asked again and again. */
const windows = new LocalCache<string, AvailabilityWindow>({ name: 'availability-windows' });

function parseWindow(query: WindowQuery): AvailabilityWindow {
  assertTimeZone(query.timeZone);
  const start = parseWindowBound(query.start, query.timeZone, 'start');
  const end = parseWindowBound(query.end, query.timeZone, 'end', true);
  if (end.getTime() <= start.getTime()) {
    throw new AppError('VALIDATION_FAILED', 'end: must be after start', { details: { field: 'end' } });
  }
  // Local days: the night the clocks go back makes one of them 25 hours long.
  if (end.getTime() - start.getTime() > MAX_WINDOW_DAYS * 86_400_000 + 3_600_000) {
    throw new AppError('VALIDATION_FAILED', `end: the window may span at most ${MAX_WINDOW_DAYS} days`, {
      details: { field: 'end' },
    });
  }
  return { start, end };
}

/** Free starts (UTC ms) per staff option within the window, through the shared cache and budget. */
export async function freeStartsByOption(
  deps: Pick<DomainDeps, 'slotCache' | 'calcom'>,
  company: CompanyKeySource,
  options: SegmentStaffOption[],
  window: AvailabilityWindow,
  signal?: AbortSignal,
): Promise<Array<{ option: SegmentStaffOption; starts: number[] }>> {
  const { client } = deps.calcom.forCompany(company);
  const ids = [...new Set(options.map((o) => o.eventTypeId))];
  const byEventType = await deps.slotCache.slotStartsMany(client, ids, window.start, window.end, signal);
  return options.map((option) => ({ option, starts: byEventType.get(option.eventTypeId) ?? [] }));
}
