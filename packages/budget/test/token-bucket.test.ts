import { randomUUID } from 'node:crypto';
import { deleteKeys } from '@calgate/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenBuckets, LEASE_MS, leasedBuckets, leaseSize, nextLeaseSize } from '../src/index.ts';

const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const other = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const prefix = `t-${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  await deleteKeys(redis, `${prefix}:*`);
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
    // A token a second: the second take cannot miss the refusal on a busy machine.
    const limit = { perMinute: 60, burst: 1 };
    expect((await buckets.take('company_d', limit)).allowed).toBe(true);
    const refused = await buckets.take('company_d', limit);
    expect(refused.allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 20));
    expect((await buckets.take('company_d', limit)).allowed).toBe(true);
  });
});

describe('tokens taken a few at a time (leased)', () => {
  const counted = (now?: () => number) => {
    const shared = createTokenBuckets(redis, prefix);
    const asked: number[] = [];
    return {
      buckets: leasedBuckets(
        {
          take: shared.take,
          takeMany: (key, limit, wanted) => {
            asked.push(wanted);
            return shared.takeMany(key, limit, wanted);
          },
        },
        now,
      ),
      takes: () => asked.length,
      asked,
    };
  };

  it('takes a twentieth of the burst per round trip, and never more than the bucket holds', async () => {
    const { buckets, takes } = counted();
    const limit = { perMinute: 60, burst: 200 };
    expect(leaseSize(limit)).toBe(10);
    const decisions = [];
    for (let i = 0; i < 25; i++) decisions.push(await buckets.take('company_lease', limit));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(takes()).toBe(3);
    // 30 tokens left the shared bucket for 25 requests: 5 are still held here.
    const fresh = createTokenBuckets(redis, prefix);
    const after = await fresh.take('company_lease', limit);
    expect(after.remaining).toBeGreaterThanOrEqual(169 - 1);
    expect(after.remaining).toBeLessThanOrEqual(169 + 1);
    expect(decisions[0]?.remaining).toBe(199);
    expect(decisions[24]?.remaining).toBe(175);
  });

  it('makes concurrent requests of one company wait for one take', async () => {
    const { buckets, takes } = counted();
    const limit = { perMinute: 600, burst: 400 };
    const decisions = await Promise.all(
      Array.from({ length: 8 }, () => buckets.take('company_burst', limit)),
    );
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(takes()).toBe(1);
  });

  it('takes one token at a time for a tight limit, so processes share it exactly', async () => {
    const a = counted();
    const b = counted();
    const limit = { perMinute: 5, burst: 5 };
    const answers = [];
    for (let i = 0; i < 6; i++)
      answers.push((await (i % 2 === 0 ? a : b).buckets.take('company_tight', limit)).allowed);
    expect(answers).toEqual([true, true, true, true, true, false]);
    expect(a.takes() + b.takes()).toBe(6);
  });

  it('lets tokens taken ahead lapse after a second instead of keeping them', async () => {
    let clock = 1_000_000;
    const shared = createTokenBuckets(redis, prefix);
    let takes = 0;
    const buckets = leasedBuckets(
      {
        take: shared.take,
        takeMany: (key, limit, wanted) => {
          takes++;
          return shared.takeMany(key, limit, wanted);
        },
      },
      () => clock,
    );
    const limit = { perMinute: 600, burst: 200 };
    await buckets.take('company_lapse', limit);
    await buckets.take('company_lapse', limit);
    expect(takes).toBe(1);
    clock += LEASE_MS + 1;
    await buckets.take('company_lapse', limit);
    expect(takes).toBe(2);
  });

  it('takes more at a time while a company uses its leases up, at most a twentieth of the burst', async () => {
    // The leases' clock stands still, so none lapses however slow the machine.
    const { buckets, asked } = counted(() => 1_000_000);
    // A token back every 10 s: the bucket's level shows what was taken.
    const limit = { perMinute: 6, burst: 4_000 };
    let allowed = 0;
    for (let i = 0; i < 1_000; i++) if ((await buckets.take('company_busy', limit)).allowed) allowed++;
    expect(allowed).toBe(1_000);
    // 10, 20, 40, 80, 160, then the most a take may ask for: 200 (4,000 / 20).
    expect(asked).toEqual([10, 20, 40, 80, 160, 200, 200, 200, 200]);
    // What left the shared bucket is what was asked for: 1,110 for 1,000 requests, 110 still held
    // here (and the one this take spends; up to 50 s of refill allowed).
    const after = await createTokenBuckets(redis, prefix).take('company_busy', limit);
    expect(after.remaining).toBeGreaterThanOrEqual(4_000 - 1_111);
    expect(after.remaining).toBeLessThanOrEqual(4_000 - 1_111 + 5);
  });

  it('asks, after a lease lapsed, for as many tokens as that lease handed out', async () => {
    let clock = 5_000_000;
    const { buckets, asked } = counted(() => clock);
    const limit = { perMinute: 600, burst: 2_000 };
    for (let i = 0; i < 3; i++) await buckets.take('company_quiet', limit);
    clock += LEASE_MS + 1;
    for (let i = 0; i < 3; i++) await buckets.take('company_quiet', limit);
    clock += LEASE_MS + 1;
    await buckets.take('company_quiet', limit);
    expect(asked).toEqual([10, 3, 3]);
  });

  it('does not ask for more after a refusal or a bucket that held fewer than asked', () => {
    const limit = { perMinute: 60, burst: 400 };
    const lease = { size: 8, granted: 8, tokens: 0, until: 2_000, remaining: 0, resetMs: 0 };
    expect(nextLeaseSize(limit, undefined, 1_000)).toBe(10);
    expect(nextLeaseSize(limit, lease, 1_000)).toBe(16);
    expect(nextLeaseSize(limit, { ...lease, granted: 3 }, 1_000)).toBe(8);
    expect(nextLeaseSize(limit, { ...lease, granted: 0 }, 1_000)).toBe(8);
    // Lapsed: what it handed out, at least one.
    expect(nextLeaseSize(limit, { ...lease, tokens: 5 }, 3_000)).toBe(3);
    expect(nextLeaseSize(limit, { ...lease, granted: 0 }, 3_000)).toBe(1);
    // Never more than a twentieth of the burst.
    expect(nextLeaseSize({ perMinute: 60, burst: 300 }, lease, 1_000)).toBe(15);
  });
});
