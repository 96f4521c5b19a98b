import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { WINDOW_MS } from '../src/budget.ts';
import { createBudget } from '../src/index.ts';

const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const prefix = `t-${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('the per-key budget', () => {
  it('grants exactly the limit within a minute, then turns callers away with a wait', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 5, maxInlineWaitMs: 0 });
    for (let i = 0; i < 5; i++) await budget.acquire('key_a');
    const error = await budget.acquire('key_a').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', retry: true });
    const retryAfterMs = (error as { details: { retryAfterMs: number } }).details.retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(55_000);
    expect(retryAfterMs).toBeLessThanOrEqual(WINDOW_MS + 1);
  });

  it('keeps keys apart: one exhausted key does not slow another', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 2, maxInlineWaitMs: 0 });
    await budget.acquire('key_b');
    await budget.acquire('key_b');
    await expect(budget.acquire('key_b')).rejects.toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    await expect(budget.acquire('key_c')).resolves.toBeUndefined();
  });

  it('holds the limit across concurrent callers sharing Redis', async () => {
    const other = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      const a = createBudget({ redis, prefix, limitPerMinute: 20, maxInlineWaitMs: 0 });
      const b = createBudget({ redis: other, prefix, limitPerMinute: 20, maxInlineWaitMs: 0 });
      const results = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).acquire('key_shared')),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
    } finally {
      await other.quit();
    }
  });

  it('waits in process for short waits instead of failing', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 1, maxInlineWaitMs: 5_000 });
    await budget.pause('key_d', 300);
    const started = Date.now();
    await budget.acquire('key_d');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('pauses a key after a 429 and never shortens a pause', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 100, maxInlineWaitMs: 0 });
    await budget.pause('key_e', 30_000);
    await budget.pause('key_e', 1_000);
    expect(await budget.pausedFor('key_e')).toBeGreaterThan(25_000);
    await expect(budget.acquire('key_e')).rejects.toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    expect(await budget.pausedFor('key_f')).toBe(0);
  });
});
