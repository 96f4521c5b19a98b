import { formatInZone, offsetMinutes, zonedTimeToUtc } from '@calgate/time';

/**
 * The one source of dates for tests, the reliability suite and the bench. Every day it hands out is
 * in the future wherever the clock stands (any weekday, any hour, either side of a DST change), is
 * a day on which the sandbox's salon is open, and is handed out once per process, so tests never
 * share a day, a slot or a cache entry by accident. Days are local dates in the salon's zone.
 */
export const SALON_TIME_ZONE = 'Europe/Berlin';

/** The first day handed out is this many local days after today (so 09:00 on it is always ahead). */
const LEAD_DAYS = 2;
const DAY_MS = 86_400_000;

/** Local calendar date of `instant` in the salon's zone, as a UTC-midnight timestamp. */
function localDay(instant: number): number {
  const shifted = new Date(instant + offsetMinutes(new Date(instant), SALON_TIME_ZONE) * 60_000);
  return Date.UTC(shifted.getUTCFullYear(), shifted.getUTCMonth(), shifted.getUTCDate());
}

const iso = (day: number): string => new Date(day).toISOString().slice(0, 10);
const weekday = (day: number): number => new Date(day).getUTCDay();
/** Mon-Fri. */
const isWorkday = (day: number): boolean => weekday(day) >= 1 && weekday(day) <= 5;
/** Mon-Sat: the sandbox salon's opening days. */
const isOpenDay = (day: number): boolean => weekday(day) !== 0;

let cursor: number | undefined;

function take(accept: (day: number) => boolean): number {
  cursor ??= localDay(Date.now()) + LEAD_DAYS * DAY_MS;
  while (!accept(cursor)) cursor += DAY_MS;
  const day = cursor;
  cursor += DAY_MS;
  return day;
}

/** A workday (Mon-Fri) of this test's own, at least two days ahead: `YYYY-MM-DD`. */
export function testDay(): string {
  return iso(take(isWorkday));
}

/** `count` days of this test's own on which the salon is open (Mon-Sat), in order. */
export function testDays(count: number): string[] {
  return Array.from({ length: count }, () => iso(take(isOpenDay)));
}

export interface DstChange {
  /** The Sunday of the change (the salon is closed on Sundays). */
  sunday: string;
  /** The open days either side of it. */
  saturday: string;
  monday: string;
  /** The salon zone's offset before and after the change, as `+01:00`. */
  offsetBefore: string;
  offsetAfter: string;
}

/**
 * The next change of daylight saving time in the salon's zone at least two days ahead, with the
 * open days around it. Its days are taken from the allocator: no other call gets them.
 */
export function dstChange(): DstChange {
  cursor ??= localDay(Date.now()) + LEAD_DAYS * DAY_MS;
  for (let saturday = cursor; ; saturday += DAY_MS) {
    if (weekday(saturday) !== 6) continue;
    const before = offsetAt(saturday, 12);
    const after = offsetAt(saturday + 2 * DAY_MS, 12);
    if (before === after) continue;
    cursor = saturday + 3 * DAY_MS;
    return {
      saturday: iso(saturday),
      sunday: iso(saturday + DAY_MS),
      monday: iso(saturday + 2 * DAY_MS),
      offsetBefore: before,
      offsetAfter: after,
    };
  }
}

function offsetAt(day: number, hour: number): string {
  const date = new Date(day);
  const instant = zonedTimeToUtc(
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    hour,
    0,
    SALON_TIME_ZONE,
  );
  return formatInZone(instant, SALON_TIME_ZONE).slice(19);
}

/** `HH:MM` on `day` in the salon's zone, as an ISO instant with that moment's offset. */
export function salonTime(day: string, hhmm: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const [hh, mm] = hhmm.split(':').map(Number) as [number, number];
  return formatInZone(zonedTimeToUtc(y, m, d, hh, mm, SALON_TIME_ZONE), SALON_TIME_ZONE);
}
