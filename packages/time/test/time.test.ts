import { describe, expect, it } from 'vitest';
import {
  formatInZone,
  isValidTimeZone,
  parseInstant,
  parseWindowBound,
  utcDaysBetween,
  zonedTimeToUtc,
} from '../src/index.ts';

describe('time zones', () => {
  it('accepts IANA names and rejects made-up ones', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });

  it('formats instants with the offset in force, across DST', () => {
    expect(formatInZone(new Date('2026-01-15T09:00:00Z'), 'Europe/Berlin')).toBe('2026-01-15T10:00:00+01:00');
    expect(formatInZone(new Date('2026-07-15T09:00:00Z'), 'Europe/Berlin')).toBe('2026-07-15T11:00:00+02:00');
    expect(formatInZone(new Date('2026-07-15T09:00:00Z'), 'America/St_Johns')).toBe(
      '2026-07-15T06:30:00-02:30',
    );
  });

  it('converts wall-clock times to UTC on both sides of a DST change', () => {
    expect(zonedTimeToUtc(2026, 3, 28, 9, 0, 'Europe/Berlin').toISOString()).toBe('2026-03-28T08:00:00.000Z');
    expect(zonedTimeToUtc(2026, 3, 30, 9, 0, 'Europe/Berlin').toISOString()).toBe('2026-03-30T07:00:00.000Z');
  });
});

describe('window bounds', () => {
  it('reads a bare date as that day in the requested zone, end bounds as the end of the day', () => {
    expect(parseWindowBound('2026-03-17', 'Europe/Berlin', 'start').toISOString()).toBe(
      '2026-03-16T23:00:00.000Z',
    );
    expect(parseWindowBound('2026-03-17', 'Europe/Berlin', 'end', true).toISOString()).toBe(
      '2026-03-17T23:00:00.000Z',
    );
  });

  it('reads date-times with an offset as given and local ones in the zone', () => {
    expect(parseWindowBound('2026-03-17T10:00:00+01:00', 'UTC', 'start').toISOString()).toBe(
      '2026-03-17T09:00:00.000Z',
    );
    expect(parseWindowBound('2026-03-17T10:00', 'Europe/Berlin', 'start').toISOString()).toBe(
      '2026-03-17T09:00:00.000Z',
    );
  });

  it('names the field when a bound is not a date', () => {
    expect(() => parseWindowBound('2026-02-30', 'UTC', 'start')).toThrow(/start/);
    expect(() => parseWindowBound('tomorrow', 'UTC', 'end')).toThrow(/end/);
    expect(() => parseInstant('2026-03-17T10:00:00', 'start')).toThrow(/offset/);
  });

  it('lists the UTC days a window touches', () => {
    expect(utcDaysBetween(new Date('2026-03-16T23:00:00Z'), new Date('2026-03-17T23:00:00Z'))).toEqual([
      '2026-03-16',
      '2026-03-17',
    ]);
  });
});
