import { cacheSizes, resetCaches } from '@calgate/cache';
import { testDays } from '@calgate/testkit';
import { describe, expect, it } from 'vitest';
import { readWindow } from '../src/availability/window.ts';

describe('the domain caches', () => {
  it('can be observed by name and reset', () => {
    const [first, second] = testDays(2) as [string, string];
    resetCaches();
    readWindow({ start: first, end: second, timeZone: 'Europe/Berlin' });
    readWindow({ start: first, end: second, timeZone: 'Europe/Berlin' });
    readWindow({ start: first, end: second, timeZone: 'UTC' });
    expect(cacheSizes()['availability-windows']).toBe(2);
    resetCaches();
    expect(cacheSizes()['availability-windows']).toBe(0);
  });
});
