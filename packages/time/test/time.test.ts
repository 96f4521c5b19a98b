import { describe, expect, it } from 'vitest';
import {
  formatInZone,
  isIanaTimeZone,
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

  it('asks the API for a zone by name, not a fixed offset the runtime would also take', () => {
    expect(isIanaTimeZone('Europe/Berlin')).toBe(true);
    expect(isIanaTimeZone('Etc/GMT+1')).toBe(true);
    expect(isValidTimeZone('+01:00')).toBe(true);
    expect(isIanaTimeZone('+01:00')).toBe(false);
    expect(isIanaTimeZone('-0500')).toBe(false);
    expect(isIanaTimeZone('\u221201:00')).toBe(false);
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

  it('takes the first of a time the clocks pass twice, and moves a skipped one forward by the gap', () => {
    const at = (...args: Parameters<typeof zonedTimeToUtc>) => zonedTimeToUtc(...args).toISOString();
    // Going back: 02:30 happens at +02:00 and again at +01:00.
    expect(at(2027, 10, 31, 2, 30, 'Europe/Berlin')).toBe('2027-10-31T00:30:00.000Z');
    expect(at(2027, 11, 7, 1, 30, 'America/New_York')).toBe('2027-11-07T05:30:00.000Z');
    // Going forward: 02:30 is skipped, read as 03:30 after the change, east and west of UTC alike.
    expect(at(2027, 3, 28, 2, 30, 'Europe/Berlin')).toBe('2027-03-28T01:30:00.000Z');
    expect(at(2027, 3, 14, 2, 30, 'America/New_York')).toBe('2027-03-14T07:30:00.000Z');
    // Santiago skips midnight: that date starts at 01:00 (-03:00), not an hour into the day before.
    expect(at(2027, 9, 5, 0, 0, 'America/Santiago')).toBe('2027-09-05T04:00:00.000Z');
    // Near a change, a time on the other side of it is unambiguous.
    expect(at(2027, 10, 31, 23, 0, 'Europe/Berlin')).toBe('2027-10-31T22:00:00.000Z');
    expect(at(2027, 10, 31, 0, 0, 'Europe/Berlin')).toBe('2027-10-30T22:00:00.000Z');
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

  it('refuses date-times that do not exist instead of rolling them over', () => {
    for (const value of [
      '2027-02-31T10:00:00+01:00',
      '2027-04-31T10:00:00Z',
      '2027-02-10T24:00:00Z',
      '2027-02-10T10:60:00Z',
      '2027-02-10T10:00:60Z',
      '2027-02-10T10:00:00+24:00',
      '9999-12-31T23:45:00Z',
      '0000-01-01T00:00:00Z',
      '0099-01-01T00:00:00Z',
    ]) {
      expect(() => parseInstant(value, 'start'), value).toThrow(/^start: .* is not a real date and time/);
      expect(() => parseWindowBound(value, 'UTC', 'end'), value).toThrow(
        /^end: .* is not a real date and time/,
      );
    }
    expect(() => parseWindowBound('0001-01-01', 'UTC', 'from')).toThrow(/^from: .* is not a real date/);
    expect(() => parseWindowBound('2027-02-31T10:00', 'UTC', 'from')).toThrow(/^from: .* is not a real date/);
    expect(() => parseWindowBound('2027-02-10T10:00:75', 'UTC', 'from')).toThrow(
      /^from: .* is not a real date/,
    );
    // Leap days exist in leap years only; the last supported year still parses.
    expect(parseInstant('2028-02-29T10:00:00Z', 'start').toISOString()).toBe('2028-02-29T10:00:00.000Z');
    expect(() => parseInstant('2027-02-29T10:00:00Z', 'start')).toThrow(/not a real date/);
    expect(parseInstant('9000-12-31T23:59:59.5-01:00', 'start').toISOString()).toBe(
      '9001-01-01T00:59:59.500Z',
    );
  });

  it('lists the UTC days a window touches', () => {
    expect(utcDaysBetween(new Date('2026-03-16T23:00:00Z'), new Date('2026-03-17T23:00:00Z'))).toEqual([
      '2026-03-16',
      '2026-03-17',
    ]);
  });
});
