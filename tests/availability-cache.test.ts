import { createBudget } from '@calgate/budget';
import { keyFingerprint } from '@calgate/calcom';
import { parseEncryptionKey } from '@calgate/db';
import { SlotCache, SlotMirror } from '@calgate/domain';
import { DEMO_API_KEY } from '@calgate/sandbox';
import { createTestRedis, seedCompany, TEST_REDIS_URL } from '@calgate/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auth, berlin, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

let gw: Gateway;
let serviceId: string;
beforeAll(async () => {
  gw = await startGateway();
  serviceId = gw.company.serviceIds[0] as string;
});
afterAll(async () => {
  await gw.close();
});

/** What a wait on another connection's effect allows: generous, since CI runs two suites at once. */
const WAIT = { timeout: 10_000 };

const slotCalls = () => gw.sandbox.control.requests().filter((r) => r.operation === 'slots.get');
const availability = (day: string, token = gw.company.token, id = serviceId) =>
  gw.app.inject({
    method: 'GET',
    url: `/api/v2/services/${id}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
    headers: auth(token),
  });

describe('the availability cache', () => {
  it('coalesces concurrent identical misses into one Cal.com call per event type, then serves hits', async () => {
    const day = testDay();
    const before = slotCalls().length;
    const answers = await Promise.all(Array.from({ length: 10 }, () => availability(day)));
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    // One call per staff member's event type (Alex, Billie), not one per request.
    expect(slotCalls().length - before).toBe(2);
    await availability(day);
    expect(slotCalls().length - before).toBe(2);
  });

  it('is invalidated for the staff member and day a booking touches', async () => {
    const day = testDay();
    await availability(day);
    const before = slotCalls().length;
    const booked = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=10' }),
      payload: {
        serviceId,
        start: berlin(day, '10:00'),
        timeZone: 'Europe/Berlin',
        staffId: gw.company.staffIds[1],
        customer: { name: 'A', email: 'inv@example.org' },
      },
    });
    expect(booked.statusCode).toBe(201);
    const after = await availability(day);
    const at10 = after.json().slots.find((s: { start: string }) => s.start === berlin(day, '10:00'));
    expect(at10.staff.map((s: { name: string }) => s.name)).toEqual(['Alex']);
    // Billie's day was refetched; Alex's stayed cached.
    expect(slotCalls().length - before).toBe(1);
  });
});

describe('a fetch that an invalidation overtakes', () => {
  /** A slots client whose answers wait until released, counting its calls. */
  function gatedClient() {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const client = {
      calls: 0,
      async getSlots(input: { start: string }) {
        client.calls++;
        await gate;
        const day = input.start.slice(0, 10);
        return { [day]: [{ start: `${day}T09:00:00.000Z` }] };
      },
    };
    return { client, release };
  }

  it('does not store what it fetched if its day was invalidated meanwhile, but keeps days a booking did not touch', async () => {
    const { redis, prefix, cleanup } = createTestRedis();
    const cache = new SlotCache({ redis, prefix, ttlSeconds: 300 });
    const dayStart = (day: string) => new Date(`${day}T00:00:00Z`);
    const dayEnd = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000);
    try {
      const touched = gatedClient();
      const pending = cache.slotStarts(touched.client, 1, dayStart('2031-03-03'), dayEnd('2031-03-03'));
      await vi.waitFor(() => expect(touched.client.calls).toBe(1), WAIT);
      await cache.invalidate([1], ['2031-03-03']);
      touched.release();
      expect(await pending).toEqual([Date.parse('2031-03-03T09:00:00Z')]);
      // The answer predates the booking: asked again, the day is fetched again.
      await cache.slotStarts(touched.client, 1, dayStart('2031-03-03'), dayEnd('2031-03-03'));
      expect(touched.client.calls).toBe(2);

      const untouched = gatedClient();
      const other = cache.slotStarts(untouched.client, 1, dayStart('2031-03-04'), dayEnd('2031-03-04'));
      await vi.waitFor(() => expect(untouched.client.calls).toBe(1), WAIT);
      await cache.invalidate([1], ['2031-03-05']);
      untouched.release();
      await other;
      await cache.slotStarts(untouched.client, 1, dayStart('2031-03-04'), dayEnd('2031-03-04'));
      expect(untouched.client.calls).toBe(1);
    } finally {
      await cleanup();
    }
  });
});

describe("the API process's local copy of cached days", () => {
  /** A slot cache with a mirror, as the API builds it, and a second process's cache beside it. */
  async function mirrored() {
    const { redis, prefix, cleanup } = createTestRedis();
    const subscriber = new Redis(TEST_REDIS_URL, {
      maxRetriesPerRequest: null,
      connectionName: `test-mirror-${prefix.replaceAll(':', '-')}`,
    });
    const tracker = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    // Copies are kept a minute here, so that only an invalidation (not their age) can drop one.
    const mirror = new SlotMirror({
      subscriber,
      tracker,
      keyPrefix: SlotCache.keyPrefix(prefix),
      maxAgeMs: 60_000,
    });
    await vi.waitFor(() => expect(mirror.enabled).toBe(true), WAIT);
    const cache = new SlotCache({ redis, prefix, ttlSeconds: 300, mirror });
    const otherRedis = new Redis(TEST_REDIS_URL);
    const other = new SlotCache({ redis: otherRedis, prefix, ttlSeconds: 300 });
    const mget = vi.spyOn(redis, 'mget');
    let answer = '09:00';
    const client = {
      calls: 0,
      async getSlots(input: { start: string }) {
        client.calls++;
        const day = input.start.slice(0, 10);
        return { [day]: [{ start: `${day}T${answer}:00.000Z` }] };
      },
      answer(at: string) {
        answer = at;
      },
    };
    const ask = (c: SlotCache, day: string) =>
      c.slotStarts(
        client,
        7,
        new Date(`${day}T00:00:00Z`),
        new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000),
      );
    return {
      mirror,
      cache,
      other,
      client,
      mget,
      subscriber,
      ask,
      async close() {
        subscriber.disconnect();
        tracker.disconnect();
        otherRedis.disconnect();
        await cleanup();
      },
    };
  }

  it('answers a warm day without a Redis round trip, and forgets it when another process invalidates it', async () => {
    const m = await mirrored();
    try {
      expect(await m.ask(m.cache, '2031-04-01')).toEqual([Date.parse('2031-04-01T09:00:00Z')]);
      // Storing the day is itself a write Redis reports: the copy is kept from the next clean read.
      await vi.waitFor(async () => {
        const reads = m.mget.mock.calls.length;
        expect(await m.ask(m.cache, '2031-04-01')).toEqual([Date.parse('2031-04-01T09:00:00Z')]);
        expect(m.mget.mock.calls.length).toBe(reads);
      }, WAIT);
      const readsWhenWarm = m.mget.mock.calls.length;
      for (let i = 0; i < 20; i++) await m.ask(m.cache, '2031-04-01');
      expect(m.mget.mock.calls.length).toBe(readsWhenWarm);
      expect(m.client.calls).toBe(1);

      // A booking handled by the worker (another connection) invalidates the day in Redis.
      m.client.answer('11:00');
      await m.other.invalidate([7], ['2031-04-01']);
      await vi.waitFor(
        async () => expect(await m.ask(m.cache, '2031-04-01')).toEqual([Date.parse('2031-04-01T11:00:00Z')]),
        WAIT,
      );
      expect(m.client.calls).toBe(2);
    } finally {
      await m.close();
    }
  });

  it('does not keep a value whose key was invalidated while it was being read', async () => {
    const m = await mirrored();
    try {
      const key = `${SlotCache.keyPrefix('x')}unused`;
      await m.ask(m.other, '2031-04-02');
      const epoch = m.mirror.epoch;
      await m.other.invalidate([7], ['2031-04-02']);
      await vi.waitFor(() => expect(m.mirror.epoch).not.toBe(epoch), WAIT);
      m.mirror.remember(key, '[]', epoch, Date.now());
      expect(m.mirror.get(key, Date.now())).toBeUndefined();
      m.mirror.remember(key, '[]', m.mirror.epoch, Date.now());
      expect(m.mirror.get(key, Date.now())).toBe('[]');
    } finally {
      await m.close();
    }
  });

  it('goes back to Redis while its subscriber is away, and mirrors again once it is back', async () => {
    const m = await mirrored();
    try {
      await m.ask(m.cache, '2031-04-03');
      const admin = new Redis(TEST_REDIS_URL);
      try {
        // The server drops the subscriber (a restart, a network cut): the copy is switched off.
        const name = m.subscriber.options.connectionName as string;
        const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
        const id = /(?:^|\s)id=(\d+)/.exec(
          list.split('\n').find((l) => l.includes(` name=${name} `)) ?? '',
        )?.[1];
        expect(id).toBeDefined();
        await admin.call('CLIENT', 'KILL', 'ID', id as string);
        await vi.waitFor(() => expect(m.mirror.enabled).toBe(false), WAIT);
        // What changes in Redis meanwhile is seen: reads go to Redis.
        m.client.answer('12:00');
        await m.other.invalidate([7], ['2031-04-03']);
        expect(await m.ask(m.cache, '2031-04-03')).toEqual([Date.parse('2031-04-03T12:00:00Z')]);
        await vi.waitFor(() => expect(m.mirror.enabled).toBe(true), WAIT);
        // Tracking points at the reconnected subscriber: invalidations are heard again.
        await m.ask(m.cache, '2031-04-03');
        m.client.answer('13:00');
        await m.other.invalidate([7], ['2031-04-03']);
        await vi.waitFor(
          async () =>
            expect(await m.ask(m.cache, '2031-04-03')).toEqual([Date.parse('2031-04-03T13:00:00Z')]),
          WAIT,
        );
      } finally {
        admin.disconnect();
      }
    } finally {
      await m.close();
    }
  });
});

describe('which Cal.com key is used', () => {
  it("uses a company's own encrypted key over the env default, and other keys keep flowing while one is paused", async () => {
    const key = parseEncryptionKey(gw.config.secretsEncryptionKey);
    const own = await seedCompany(gw.database.db, {
      name: 'Own key',
      calcomApiKey: 'cal_test_sandbox_casey',
      encryptionKey: key,
      staff: [{ name: 'Alex' }],
      services: [
        {
          name: 'Cut',
          segments: [
            { name: 'Cut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: HAIRCUT.alex }] },
          ],
        },
      ],
    });
    const stored = await gw.database
      .sql`select calcom_api_key_encrypted from companies where id = ${own.companyId}`;
    expect(String(stored[0]?.calcom_api_key_encrypted)).not.toContain('cal_test_sandbox_casey');
    // Pause the env default key in the shared budget, as a 429 would.
    const redis = new Redis(gw.config.redis.url);
    await createBudget({ redis, prefix: gw.config.redis.queuePrefix, limitPerMinute: 100 }).pause(
      keyFingerprint(DEMO_API_KEY),
      30_000,
    );
    await redis.quit();
    const day = testDay();
    const res = await availability(day, own.token, own.serviceIds[0]);
    expect(res.statusCode).toBe(200);
    const last = gw.sandbox.control.requests().at(-1);
    expect(last?.keyFingerprint).toBe(keyFingerprint('cal_test_sandbox_casey'));
    const paused = await availability(day);
    expect(paused.statusCode).toBe(429);
    expect(paused.json().error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(Number(paused.headers['retry-after'])).toBeGreaterThan(20);
  });
});

describe('the API documentation', () => {
  it('is served as an OpenAPI document listing the booking routes', async () => {
    const page = await gw.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    const doc = await gw.app.inject({ method: 'GET', url: '/docs/json' });
    const paths = Object.keys(doc.json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v2/services',
        '/api/v2/services/{serviceId}/availability',
        '/api/v2/bookings',
        '/api/v2/bookings/{id}',
      ]),
    );
  });
});
