import { LocalCache } from '@calgate/cache';
import { AppError } from '@calgate/errors';

const zoneCache = new LocalCache<string, boolean>({ name: 'time-zone-names' });

/** True for IANA zone names this runtime knows (e.g. Europe/Berlin, UTC). */
export function isValidTimeZone(timeZone: string): boolean {
  return zoneCache.getOrSet(timeZone, () => checkTimeZone(timeZone));
}

function checkTimeZone(timeZone: string): boolean {
  let valid = false;
  if (timeZone.length > 0 && timeZone.length <= 64) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
      valid = true;
    } catch {
      valid = false;
    }
  }
  return valid;
}

/**
 * True for a zone's name (`Europe/Berlin`, `UTC`), not a fixed offset (`+01:00`, which this
 * runtime accepts too): what our API asks for, and what Cal.com's attendees carry.
 */
export function isIanaTimeZone(timeZone: string): boolean {
  // A name has letters (`UTC`, `Etc/GMT+1`); an offset, in any sign character, has none.
  return isValidTimeZone(timeZone) && /[A-Za-z]/.test(timeZone) && !/^\s*[+\-\u2212]/.test(timeZone);
}

/** @throws AppError INVALID_TIMEZONE naming the field. */
export function assertTimeZone(timeZone: string, field = 'timeZone'): void {
  if (!isIanaTimeZone(timeZone)) {
    throw new AppError(
      'INVALID_TIMEZONE',
      `${field}: "${timeZone.slice(0, 64)}" is not a valid IANA time zone`,
      {
        details: { field },
      },
    );
  }
}

const formatters = new LocalCache<string, Intl.DateTimeFormat>({ name: 'time-zone-formatters' });
function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  return formatters.getOrSet(
    timeZone,
    () =>
      new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      }),
  );
}

/** Offsets already computed, per zone and UTC minute (zone offsets only change on whole minutes). */
const MAX_OFFSETS = 100_000;
const offsets = new LocalCache<string, number>({ name: 'time-zone-offsets', maxEntries: MAX_OFFSETS });

/** Offset of `timeZone` from UTC at `instant`, in minutes (Berlin in winter: 60). */
export function offsetMinutes(instant: Date, timeZone: string): number {
  const key = `${timeZone}|${Math.floor(instant.getTime() / 60_000)}`;
  return offsets.getOrSet(key, () => computeOffsetMinutes(instant, timeZone));
}

function computeOffsetMinutes(instant: Date, timeZone: string): number {
  const parts = Object.fromEntries(
    partsFormatter(timeZone)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
}

const formatted = new LocalCache<string, string>({ name: 'formatted-instants', maxEntries: MAX_OFFSETS });

/** ISO 8601 with the zone's offset at that instant: `2026-03-17T10:00:00+01:00`. */
export function formatInZone(instant: Date, timeZone: string): string {
  const ms = instant.getTime();
  // Slot starts repeat across requests: whole minutes are remembered per zone.
  if (ms % 60_000 !== 0) return computeFormatInZone(instant, timeZone);
  const key = `${timeZone}|${ms}`;
  return formatted.getOrSet(key, () => computeFormatInZone(instant, timeZone));
}

function computeFormatInZone(instant: Date, timeZone: string): string {
  const offset = offsetMinutes(instant, timeZone);
  const local = new Date(instant.getTime() + offset * 60_000).toISOString().slice(0, 19);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}

/**
 * The UTC instant at which a wall-clock time in `timeZone` occurs. A time the clocks pass twice
 * (they go back) is its first occurrence; a time they skip (they go forward) is moved forward by
 * the gap, so a date whose midnight is skipped starts at its first existing instant (as
 * Temporal's `compatible` disambiguation does).
 */
export function zonedTimeToUtc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timeZone: string,
): Date {
  const naive = Date.UTC(year, month - 1, day, hour, minute);
  // The offsets a day either side: a change of the clocks near the time lies between them.
  const candidates = [
    naive - offsetMinutes(new Date(naive - 86_400_000), timeZone) * 60_000,
    naive - offsetMinutes(new Date(naive + 86_400_000), timeZone) * 60_000,
  ];
  const real = candidates.filter((at) => at + offsetMinutes(new Date(at), timeZone) * 60_000 === naive);
  return new Date(real.length > 0 ? Math.min(...real) : Math.max(...candidates));
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * The years a date may name. Outside them PostgreSQL cannot store an appointment's end (after
 * 9999) or JavaScript misreads the year (before 100); no salon books in either.
 */
export const FIRST_YEAR = 1900;
export const LAST_YEAR = 9000;

type Fields = [number, number, number, number, number, number, number, number];

/** The first eight captured groups of `match` as numbers (a group not matched or absent: 0). */
function fieldsOf(match: RegExpExecArray): Fields {
  return Array.from({ length: 8 }, (_, i) => Number(match[i + 1] ?? 0)) as Fields;
}

/** A date-time with an offset whose every field is real (no 31 February, no 24:00, no +25:00). */
function parseZonedDateTime(value: string): Date | undefined {
  const match = DATE_TIME_WITH_ZONE.exec(value);
  if (match === null) return undefined;
  const [y, m, d, h, min, sec, oh, om] = fieldsOf(match);
  if (!isRealDate(y, m, d) || h > 23 || min > 59 || sec > 59 || oh > 23 || om > 59) return undefined;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}
const DATE_TIME_LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * Reads a window bound given as an ISO date (`2026-03-17`, the start of that day in `timeZone`, or
 * with `endOfDay` the end of it), an ISO date-time with offset, or a local date-time in `timeZone`.
 * @throws AppError VALIDATION_FAILED naming the field.
 */
export function parseWindowBound(value: string, timeZone: string, field: string, endOfDay = false): Date {
  const dateOnly = DATE_ONLY.exec(value);
  if (dateOnly !== null) {
    const [y, m, d] = [Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3])];
    if (isRealDate(y, m, d)) {
      if (!endOfDay) return zonedTimeToUtc(y, m, d, 0, 0, timeZone);
      const next = new Date(Date.UTC(y, m - 1, d + 1));
      return zonedTimeToUtc(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, timeZone);
    }
  } else if (DATE_TIME_WITH_ZONE.test(value)) {
    const parsed = parseZonedDateTime(value);
    if (parsed !== undefined) return parsed;
  } else {
    const local = DATE_TIME_LOCAL.exec(value);
    if (local !== null) {
      const [y, m, d, h, min, sec] = fieldsOf(local);
      if (isRealDate(y, m, d) && h < 24 && min < 60 && sec < 60) {
        return zonedTimeToUtc(y, m, d, h, min, timeZone);
      }
    }
  }
  throw new AppError(
    'VALIDATION_FAILED',
    DATE_ONLY.test(value) || DATE_TIME_WITH_ZONE.test(value) || DATE_TIME_LOCAL.test(value)
      ? unrealMessage(value, field)
      : `${field}: "${value.slice(0, 40)}" is not an ISO date or date-time`,
    {
      details: { field },
    },
  );
}

/**
 * Reads an instant that must carry its offset (`2026-03-17T10:00:00+01:00` or `...Z`).
 * @throws AppError VALIDATION_FAILED naming the field.
 */
export function parseInstant(value: string, field: string): Date {
  const parsed = parseZonedDateTime(value);
  if (parsed !== undefined) return parsed;
  if (DATE_TIME_WITH_ZONE.test(value)) {
    throw new AppError('VALIDATION_FAILED', unrealMessage(value, field), { details: { field } });
  }
  throw new AppError(
    'VALIDATION_FAILED',
    `${field}: "${value.slice(0, 40)}" must be an ISO 8601 date-time with an offset, e.g. 2026-03-17T10:00:00+01:00`,
    { details: { field } },
  );
}

function unrealMessage(value: string, field: string): string {
  return `${field}: "${value.slice(0, 40)}" is not a real date and time (a day of its month, hours 00-23, years ${FIRST_YEAR}-${LAST_YEAR})`;
}

/** A calendar date (no 31 February) in the years this gateway works with (`FIRST_YEAR`-`LAST_YEAR`). */
function isRealDate(y: number, m: number, d: number): boolean {
  if (y < FIRST_YEAR || y > LAST_YEAR) return false;
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** `YYYY-MM-DD` of the UTC day containing `instant`. */
export function utcDay(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

/** Every UTC day touched by [start, end). */
export function utcDaysBetween(start: Date, end: Date): string[] {
  const days: string[] = [];
  const cursor = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  while (cursor.getTime() < end.getTime()) {
    days.push(utcDay(cursor));
    cursor.setUTCDate(cursor.getUTCDate() + 1);
  }
  return days.length === 0 ? [utcDay(start)] : days;
}
