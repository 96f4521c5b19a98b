import { randomBytes } from 'node:crypto';
import { type Budget, type Claimant, createBudget } from '@calgate/budget';
import { type BookingUid, storedTextId } from '@calgate/calendar';
import { singleKeyring } from '@calgate/db';
import { DEMO_API_KEY, type RunningSandbox, startSandbox } from '@calgate/sandbox';
import { createTestRedis, monitorRedis } from '@calgate/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCalcomAccess, PREPAID_MS } from '../src/accounts/calcom-access.ts';
import { createOutcomeNotifier, createOutcomeWaiter } from '../src/appointments/outcomes.ts';

const t = createTestRedis();
let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox({ port: 0, rateLimitPerMinute: 100_000 });
});
afterAll(async () => {
  await sb.close();
  await t.cleanup();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a request waiting for an outcome', () => {
  it('is woken by a notice that carries the committed status, without reading the row again', async () => {
    const waiter = createOutcomeWaiter(new Redis(t.redis.options), t.prefix);
    const notifier = createOutcomeNotifier(t.redis, t.prefix);
    const seen: Array<string | undefined> = [];
    const settled = waiter.waitFor(
      'apt_1',
      (status) => {
        seen.push(status);
        return status === 'confirmed';
      },
      20_000,
    );
    // The first check (status unknown) runs once subscribed; then a notice without a status (read),
    // then the worker's notice with the status it committed.
    await vi.waitFor(() => expect(seen).toEqual([undefined]), { timeout: 10_000 });
    await notifier.publish('apt_1');
    await vi.waitFor(() => expect(seen).toEqual([undefined, undefined]), { timeout: 10_000 });
    await notifier.publish('apt_1', 'confirmed');
    expect(await settled).toBe(true);
    expect(seen).toEqual([undefined, undefined, 'confirmed']);
    await waiter.close();
  });
});

describe('a notice sent with a cache invalidation (one round trip)', () => {
  it('runs after the commands queued before it, and goes out even when one of them fails', async () => {
    const notifier = createOutcomeNotifier(t.redis, t.prefix);
    const key = `${t.prefix}:slots:test-day`;
    const notANumber = `${t.prefix}:slots:not-a-number`;
    await t.redis.set(key, 'cached');
    await t.redis.set(notANumber, 'x');
    // The order Redis ran the commands in, as MONITOR reports it.
    const monitor = await monitorRedis(t.prefix);
    const errors: Error[] = [];
    await notifier.publishAfter(
      (pipeline) => {
        pipeline.del(key);
        pipeline.incr(notANumber); // fails: not an integer
      },
      (error) => errors.push(error),
      'apt_2',
      'confirmed',
    );
    await vi.waitFor(() => expect(monitor.ran).toHaveLength(3), { timeout: 10_000 });
    expect(monitor.ran).toEqual([
      `del ${key}`,
      `incr ${notANumber}`,
      `publish ${t.prefix}:appointment-changed`,
    ]);
    expect(errors).toHaveLength(1);
    expect(await t.redis.exists(key)).toBe(0);
    monitor.close();
  });
});

const access = (budget: Budget) =>
  createCalcomAccess({
    baseUrl: sb.baseUrl,
    defaultApiKey: DEMO_API_KEY,
    bookingsApiVersion: '2024-08-13',
    timeoutMs: 5_000,
    debug: false,
    keyring: singleKeyring(randomBytes(32)),
    budget,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });

describe("a prepaid share of a key's budget", () => {
  const counting = (budget: Budget) => {
    let acquired = 0;
    return {
      budget: {
        ...budget,
        acquire: (keyId: string, claimant?: Claimant, signal?: AbortSignal, waitMs?: number) => {
          acquired++;
          return budget.acquire(keyId, claimant, signal, waitMs);
        },
      },
      acquired: () => acquired,
    };
  };

  it('is used by the next call instead of its own, once, and dropped when not used in time', async () => {
    const { budget, acquired } = counting(
      createBudget({ redis: t.redis, prefix: t.prefix, limitPerMinute: 1_000 }),
    );
    const calcom = access(budget);
    const { client, keyId } = calcom.forCompany({ id: 'cmp_1', calcomApiKeyEncrypted: null });
    // The clock that ages a share stands still unless the test moves it: a busy machine cannot
    // make a share lapse before the call that should use it.
    vi.useFakeTimers({ toFake: ['Date'] });
    await calcom.prepay(keyId, 'cmp_1');
    await client.getMe();
    expect(acquired()).toBe(1);
    await client.getMe();
    expect(acquired()).toBe(2);
    await calcom.prepay(keyId, 'cmp_1');
    vi.setSystemTime(Date.now() + PREPAID_MS + 1);
    await client.getMe();
    // The stale share was dropped (left unused), the call took its own.
    expect(acquired()).toBe(4);
  });

  it("draws each call from the budget as its company's, background for bookkeeping calls", async () => {
    const { claimants, calcom } = recordingAccess();
    const one = calcom.forCompany({ id: 'cmp_1', calcomApiKeyEncrypted: null });
    const two = calcom.forCompany({ id: 'cmp_2', calcomApiKeyEncrypted: null });
    // The same key, one budget: only the company a call is made for differs.
    expect(two.keyId).toBe(one.keyId);
    await one.client.getMe();
    await two.client.getBooking(storedTextId<BookingUid>('no-such-booking')).catch(() => undefined);
    vi.useFakeTimers({ toFake: ['Date'] }); // the share cannot lapse before the calls below
    await calcom.prepay(one.keyId, 'cmp_2');
    expect(claimants).toEqual([
      { companyId: 'cmp_1', kind: 'background' },
      { companyId: 'cmp_2', kind: 'interactive' },
      { companyId: 'cmp_2', kind: 'interactive' },
    ]);
    // A share prepaid for one company is not spent by another's call.
    await one.client.getMe();
    expect(claimants).toHaveLength(4);
    await two.client.getMe();
    expect(claimants).toHaveLength(4);
  });
});

/** Cal.com access over a real budget that records who each acquire was for. */
function recordingAccess() {
  const claimants: Array<Claimant | undefined> = [];
  const inner = createBudget({ redis: t.redis, prefix: t.prefix, limitPerMinute: 1_000 });
  const calcom = access({
    ...inner,
    acquire: (keyId, claimant, signal, waitMs) => {
      claimants.push(claimant);
      return inner.acquire(keyId, claimant, signal, waitMs);
    },
  });
  return { claimants, calcom };
}

describe("a company's Cal.com client", () => {
  it('hands out one function per method, which still calls as its company', async () => {
    const { claimants, calcom } = recordingAccess();
    const one = calcom.forCompany({ id: 'cmp_1', calcomApiKeyEncrypted: null }).client;
    const two = calcom.forCompany({ id: 'cmp_2', calcomApiKeyEncrypted: null }).client;
    const getMe = one.getMe;
    expect(one.getMe).toBe(getMe);
    expect(one.getBooking).toBe(one.getBooking);
    // Each company's client has its own: the function carries the company it calls as.
    expect(two.getMe).not.toBe(getMe);
    // Called on its own, away from the client, the kept function still runs as cmp_1's.
    await getMe();
    await two.getMe();
    expect(claimants).toEqual([
      { companyId: 'cmp_1', kind: 'background' },
      { companyId: 'cmp_2', kind: 'background' },
    ]);
  });
});
