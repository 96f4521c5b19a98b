import { randomUUID } from 'node:crypto';
import { deleteKeys } from '@calgate/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { WINDOW_MS } from '../src/budget.ts';
import { type Claimant, createBudget } from '../src/index.ts';

const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const prefix = `t-${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  await deleteKeys(redis, `${prefix}:*`);
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
    // Timed from before the pause (which starts on Redis's clock when it arrives), so that a slow
    // answer to the pause cannot shorten the wait measured.
    const started = Date.now();
    await budget.pause('key_d', 300);
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

describe('the fair share of a key several companies use', () => {
  const a = { companyId: 'cmp_a', kind: 'interactive' } as const;
  const b = { companyId: 'cmp_b', kind: 'interactive' } as const;
  const refusal = (promise: Promise<void>) =>
    promise.then(
      () => undefined,
      (error: { code?: string; details?: { retryAfterMs?: number } }) => error,
    );
  /** Takes `n` slots for `claimant`, one after another. */
  const take = async (
    budget: ReturnType<typeof createBudget>,
    key: string,
    claimant: Claimant,
    n: number,
  ) => {
    for (let i = 0; i < n; i++) await budget.acquire(key, claimant);
  };
  /** Lets `n` of a company's entries leave the window, as if a minute had passed for them. */
  const expire = async (key: string, companyId: string, n: number) => {
    const members = (await redis.zrange(`${prefix}:budget:{${key}}:log`, 0, -1)).filter((m) =>
      m.startsWith(`${companyId}|`),
    );
    expect(members.length).toBeGreaterThanOrEqual(n);
    await redis.zrem(`${prefix}:budget:{${key}}:log`, ...members.slice(0, n));
    // The per-company count kept beside the log goes down with it, as when entries age out.
    await redis.hincrby(`${prefix}:budget:{${key}}:counts`, companyId, -n);
  };

  it('lets a company alone on a key use all of it at once, unpaced', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 50, maxInlineWaitMs: 0, burst: 5 });
    await take(budget, 'key_alone', a, 50);
    expect(await refusal(budget.acquire('key_alone', a))).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
  });

  it('keeps the last slots of the window from a company over its share once another uses the key', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 20, maxInlineWaitMs: 0, burst: 100 });
    await budget.acquire('key_reserve', b);
    // Two companies hold the window: A's share is 10. Over it, A may not take the last 2 of 20.
    await take(budget, 'key_reserve', a, 17);
    const capped = await refusal(budget.acquire('key_reserve', a));
    expect(capped).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    // B, under its share, still gets them at once.
    await take(budget, 'key_reserve', b, 2);
    await expect(budget.acquire('key_reserve', b)).rejects.toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
  });

  it('paces a company on a shared key after its burst', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 100, maxInlineWaitMs: 0, burst: 3 });
    await budget.acquire('key_paced', b);
    await take(budget, 'key_paced', a, 3);
    const paced = await refusal(budget.acquire('key_paced', a));
    expect(paced).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    // One slot per WINDOW_MS / 100 = 620 ms: not the minute a full window would cost. (How much of
    // the 620 ms is left depends on how long the takes above took.)
    expect(paced?.details?.retryAfterMs).toBeGreaterThan(0);
    expect(paced?.details?.retryAfterMs).toBeLessThanOrEqual(Math.ceil(WINDOW_MS / 100) + 1);
    // B's own burst is untouched by A's pace.
    await expect(budget.acquire('key_paced', b)).resolves.toBeUndefined();
  });

  it("does not count calls made on no company's behalf as a second company", async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 50, maxInlineWaitMs: 0, burst: 5 });
    await budget.acquire('key_anonymous');
    await take(budget, 'key_anonymous', a, 49);
  });

  it('gives a freed slot to the waiting company that holds less of the window', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 10, maxInlineWaitMs: 0, burst: 100 });
    await take(budget, 'key_order', b, 2);
    await take(budget, 'key_order', a, 7);
    await budget.acquire('key_order', b);
    // Full: B is turned away and waits (registered for 2 s).
    expect(await refusal(budget.acquire('key_order', b))).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    await expire('key_order', 'cmp_a', 3);
    // Three slots free. A holds 4, B 3: A is told to wait briefly while B is waiting...
    const yielded = await refusal(budget.acquire('key_order', a));
    expect(yielded).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    expect(yielded?.details?.retryAfterMs).toBeLessThanOrEqual(100);
    // ...B takes its slot, and once B no longer waits A takes the next.
    await expect(budget.acquire('key_order', b)).resolves.toBeUndefined();
    await expect(budget.acquire('key_order', a)).resolves.toBeUndefined();
  });

  it('serves a waiting interactive call before a background one', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 10, maxInlineWaitMs: 0, burst: 100 });
    const syncA = { companyId: 'cmp_a', kind: 'background' } as const;
    await take(budget, 'key_kind', syncA, 6);
    await take(budget, 'key_kind', b, 4);
    expect(await refusal(budget.acquire('key_kind', b))).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    await expire('key_kind', 'cmp_a', 2);
    // A's background call holds no more of the window than B (4 against 4) but waits for B.
    expect(await refusal(budget.acquire('key_kind', syncA))).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    await expect(budget.acquire('key_kind', b)).resolves.toBeUndefined();
    await expect(budget.acquire('key_kind', syncA)).resolves.toBeUndefined();
  });

  it('waits in process while another company takes its turn, then gets the next slot', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 10, maxInlineWaitMs: 2_000, burst: 100 });
    await take(budget, 'key_turn', b, 2);
    await take(budget, 'key_turn', a, 7);
    await budget.acquire('key_turn', b);
    const quick = createBudget({ redis, prefix, limitPerMinute: 10, maxInlineWaitMs: 0, burst: 100 });
    expect(await refusal(quick.acquire('key_turn', b))).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    await expire('key_turn', 'cmp_a', 3);
    // A (4) yields to the waiting B (3) and retries in process; B takes its slot; A the next.
    const order: string[] = [];
    const aTurn = budget.acquire('key_turn', a).then(() => order.push('a'));
    // A has tried once and was told to wait (it is registered as waiting too).
    await vi.waitFor(
      async () => expect(await redis.hexists(`${prefix}:budget:{key_turn}:waiting`, 'cmp_a')).toBe(1),
      { timeout: 5_000, interval: 10 },
    );
    expect(order).toEqual([]);
    await quick.acquire('key_turn', b).then(() => order.push('b'));
    await aTurn;
    expect(order).toEqual(['b', 'a']);
    expect(await redis.zcard(`${prefix}:budget:{key_turn}:log`)).toBe(9);
  });

  it("lowers a company's count as its entries leave the window, reading only those entries", async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 10, maxInlineWaitMs: 0, burst: 100 });
    const log = `${prefix}:budget:{key_age}:log`;
    const counts = `${prefix}:budget:{key_age}:counts`;
    await take(budget, 'key_age', a, 2);
    await take(budget, 'key_age', b, 1);
    expect(await redis.hgetall(counts)).toEqual({ cmp_a: '2', cmp_b: '1' });
    // Two of A's entries as if taken 70 s ago (older than the window).
    const members = await redis.zrange(log, 0, -1);
    const [seconds] = await redis.time();
    const longAgo = Number(seconds) * 1000 - 70_000;
    for (const member of members.filter((m) => m.startsWith('cmp_a|')))
      await redis.zadd(log, longAgo, member);
    await budget.acquire('key_age', b);
    expect(await redis.hgetall(counts)).toEqual({ cmp_b: '2' });
    expect(await redis.zcard(log)).toBe(2);
  });

  it('waits in process for a paused key, but not for its own share, when told to hurry', async () => {
    const budget = createBudget({ redis, prefix, limitPerMinute: 100, maxInlineWaitMs: 5_000, burst: 1 });
    // The key is paused for everyone: waited out in process even with no patience for shares.
    const started = Date.now();
    await budget.pause('key_hurry', 300);
    await budget.acquire('key_hurry', b, undefined, 0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // A's own pace (shared key, burst 1): refused at once instead of waited for.
    await budget.acquire('key_hurry', a, undefined, 0);
    const paced = await refusal(budget.acquire('key_hurry', a, undefined, 0));
    expect(paced).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
    expect(paced?.details?.retryAfterMs).toBeGreaterThan(0);
  });
});
