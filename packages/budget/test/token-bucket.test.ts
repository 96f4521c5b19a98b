import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenBuckets } from '../src/index.ts';

const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const other = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const prefix = `t-${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await Promise.all([redis.quit(), other.quit()]);
});

describe('token buckets', () => {
  it('grants a burst, then refuses with the wait until the next token', async () => {
    const buckets = createTokenBuckets(redis, prefix);
    const limit = { perMinute: 60, burst: 3 };
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await buckets.take('company_a', limit));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    // One token a second: the refused request may go again within a second.
    expect(decisions[3]?.retryAfterMs).toBeGreaterThan(0);
    expect(decisions[3]?.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(decisions[3]?.resetMs).toBeLessThanOrEqual(3000);
  });

  it('is one bucket for every connection (every API process), and one per key', async () => {
    const limit = { perMinute: 1, burst: 2 };
    const a = createTokenBuckets(redis, prefix);
    const b = createTokenBuckets(other, prefix);
    expect((await a.take('company_b', limit)).allowed).toBe(true);
    expect((await b.take('company_b', limit)).allowed).toBe(true);
    expect((await a.take('company_b', limit)).allowed).toBe(false);
    expect((await b.take('company_b', limit)).allowed).toBe(false);
    expect((await b.take('company_c', limit)).allowed).toBe(true);
  });

  it('refills at the rate: a token is back after its interval', async () => {
    const buckets = createTokenBuckets(redis, prefix);
    const limit = { perMinute: 600, burst: 1 };
    expect((await buckets.take('company_d', limit)).allowed).toBe(true);
    const refused = await buckets.take('company_d', limit);
    expect(refused.allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 20));
    expect((await buckets.take('company_d', limit)).allowed).toBe(true);
  });
});
