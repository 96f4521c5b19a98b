import { describe, expect, it } from 'vitest';
import { LocalCache } from '../src/index.ts';

describe('a local cache', () => {
  it('is emptied when full, before the next new entry goes in', () => {
    const cache = new LocalCache<string, number>({ name: 'test-full', maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) cache.set(key, 1);
    cache.set('b', 2);
    expect(cache.size).toBe(3);
    cache.set('d', 4);
    expect(cache.size).toBe(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('d')).toBe(4);
  });

  it('forgets an entry after its TTL', () => {
    const cache = new LocalCache<string, string>({ name: 'test-ttl', ttlMs: 1_000 });
    cache.set('k', 'v', 10_000);
    expect(cache.get('k', 10_999)).toBe('v');
    expect(cache.get('k', 11_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops a promise that rejected, so the next caller loads again', async () => {
    const cache = new LocalCache<string, Promise<number>>({ name: 'test-rejected' });
    let loads = 0;
    const failing = cache.getOrSet('k', () => {
      loads++;
      return Promise.reject(new Error('down'));
    });
    await expect(failing).rejects.toThrow('down');
    expect(await cache.getOrSet('k', () => Promise.resolve(++loads))).toBe(2);
    expect(await cache.getOrSet('k', () => Promise.resolve(++loads))).toBe(2);
  });
});
