import { offsetMinutes, zonedTimeToUtc } from '@calgate/time';
import type { SandboxEventType, SandboxUser, WorkingHours } from './types.ts';

const DEFAULT_HOURS: WorkingHours = { days: [1, 2, 3, 4, 5], startTime: '09:00', endTime: '17:00' };
const DAY_MS = 86_400_000;

function hm(value: string): [number, number] {
  const [h, m] = value.split(':').map(Number);
  return [h ?? 0, m ?? 0];
}

/** Local calendar date of an instant in a zone, as y/m/d and weekday. */
function localDate(instant: number, timeZone: string): { y: number; m: number; d: number; weekday: number } {
  const shifted = new Date(instant + offsetMinutes(new Date(instant), timeZone) * 60_000);
  return {
    y: shifted.getUTCFullYear(),
    m: shifted.getUTCMonth() + 1,
    d: shifted.getUTCDate(),
    weekday: shifted.getUTCDay(),
  };
}

/**
 * Every grid start of a host for an event type inside [from, to): the working hours of each local
 * day in the host's zone (DST-correct), stepping by the event type's interval, whole slot inside hours.
 */
export function gridStarts(
  host: SandboxUser,
  eventType: SandboxEventType,
  from: number,
  to: number,
): number[] {
  const hours = host.workingHours ?? DEFAULT_HOURS;
  const lengthMs = eventType.lengthInMinutes * 60_000;
  const stepMs = (eventType.slotIntervalMinutes ?? eventType.lengthInMinutes) * 60_000;
  const [sh, sm] = hm(hours.startTime);
  const [eh, em] = hm(hours.endTime);
  const starts: number[] = [];
  // Walk local days from the day before `from` to the day after `to` (zones shift dates).
  for (let cursor = from - DAY_MS; cursor <= to + DAY_MS; cursor += DAY_MS) {
    const day = localDate(cursor, host.timeZone);
    if (!hours.days.includes(day.weekday)) continue;
    const open = zonedTimeToUtc(day.y, day.m, day.d, sh, sm, host.timeZone).getTime();
    const close = zonedTimeToUtc(day.y, day.m, day.d, eh, em, host.timeZone).getTime();
    for (let t = open; t + lengthMs <= close; t += stepMs) {
      if (t >= from && t < to) starts.push(t);
    }
  }
  return [...new Set(starts)].sort((a, b) => a - b);
}

/** True when `start` is a grid start of the host's working hours for this event type. */
export function isOnGrid(host: SandboxUser, eventType: SandboxEventType, start: number): boolean {
  return gridStarts(host, eventType, start, start + 1).includes(start);
}

/** Formats an instant in a zone with its offset and milliseconds, as Cal.com does in slots. */
export function formatSlot(instant: number, timeZone: string): string {
  const offset = offsetMinutes(new Date(instant), timeZone);
  const local = new Date(instant + offset * 60_000).toISOString().slice(0, 23);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The local date (YYYY-MM-DD) of an instant in a zone. */
export function localDay(instant: number, timeZone: string): string {
  const { y, m, d } = localDate(instant, timeZone);
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}
