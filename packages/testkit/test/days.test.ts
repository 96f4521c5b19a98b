import { afterEach, describe, expect, it, vi } from 'vitest';

// The allocator keeps its cursor in module state: each case loads a fresh copy under its own clock.
async function allocatorAt(instant: string) {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(instant));
  vi.resetModules();
  return import('../src/days.ts');
}

afterEach(() => {
  vi.useRealTimers();
});

const weekday = (day: string) => new Date(`${day}T12:00:00Z`).getUTCDay();

describe('the test day allocator', () => {
  // A Friday afternoon, a Saturday, a Sunday night (already Monday in Berlin), the night of a DST change.
  const instants = [
    '2026-12-04T16:00:00+01:00',
    '2026-12-05T10:00:00+01:00',
    '2026-12-06T23:30:00+01:00',
    '2027-10-31T01:30:00+02:00',
    '2027-03-28T01:59:00+01:00',
  ];

  it.each(instants)('hands out distinct future workdays, never a weekend, at %s', async (instant) => {
    const { testDay, salonTime } = await allocatorAt(instant);
    const days = Array.from({ length: 12 }, () => testDay());
    expect(new Set(days).size).toBe(days.length);
    expect(days).toEqual([...days].sort());
    for (const day of days) {
      expect([1, 2, 3, 4, 5]).toContain(weekday(day));
      // The salon opens at 09:00: the earliest slot of any day handed out is more than a day ahead.
      expect(new Date(salonTime(day, '09:00')).getTime() - Date.now()).toBeGreaterThan(86_400_000);
    }
  });

  it.each(instants)('hands out open days (Mon-Sat) that no testDay() call gets, at %s', async (instant) => {
    const { testDay, testDays } = await allocatorAt(instant);
    const single = testDay();
    const many = testDays(20);
    expect(many).not.toContain(single);
    expect(new Set(many).size).toBe(20);
    expect(many.every((day) => weekday(day) !== 0)).toBe(true);
    expect(testDay() > (many.at(-1) as string)).toBe(true);
  });

  it('places a test on the next DST change, with the offsets either side', async () => {
    const { dstChange, salonTime, testDay } = await allocatorAt('2027-10-20T12:00:00+02:00');
    const change = dstChange();
    expect(change).toEqual({
      saturday: '2027-10-30',
      sunday: '2027-10-31',
      monday: '2027-11-01',
      offsetBefore: '+02:00',
      offsetAfter: '+01:00',
    });
    expect(salonTime(change.saturday, '09:00')).toBe('2027-10-30T09:00:00+02:00');
    expect(salonTime(change.monday, '09:00')).toBe('2027-11-01T09:00:00+01:00');
    expect(testDay() > change.monday).toBe(true);
    const spring = await allocatorAt('2027-03-01T12:00:00+01:00');
    expect(spring.dstChange()).toMatchObject({
      sunday: '2027-03-28',
      offsetBefore: '+01:00',
      offsetAfter: '+02:00',
    });
  });
});
