import { buildApp, createApiDeps } from '@calgate/api';
import { companies } from '@calgate/db';
import { createLogger } from '@calgate/telemetry';
import { seedCompany } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  berlin,
  eventually,
  type Gateway,
  startGateway,
  testDay,
  testDays,
} from './support/gateway.ts';

describe('the per-company request rate limit', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({
      worker: false,
      env: { API_RATE_LIMIT_PER_MINUTE: '600', API_RATE_LIMIT_BURST: '100' },
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('holds a company to its own limit across API processes, and leaves other companies alone', async () => {
    const limited = await seedCompany(gw.database.db, { name: 'Busy salon' });
    await gw.database.db
      .update(companies)
      .set({ settings: { apiRateLimitPerMinute: 5 } })
      .where(eq(companies.id, limited.companyId));
    // A second API process on the same Redis and database.
    const secondDeps = createApiDeps(gw.config, createLogger({ name: 'second', level: 'silent' }));
    const second = await buildApp(secondDeps);
    try {
      const list = (app: typeof second, token: string) =>
        app.inject({ method: 'GET', url: '/api/v2/services', headers: auth(token) });
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await list(i % 2 === 0 ? gw.app : second, limited.token));
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 429]);
      expect(answers[0]?.headers['ratelimit-limit']).toBe('5');
      expect(answers.slice(0, 5).map((a) => a.headers['ratelimit-remaining'])).toEqual([
        '4',
        '3',
        '2',
        '1',
        '0',
      ]);
      const refused = answers[5];
      expect(refused?.json().error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
      expect(refused?.json().error.message).toContain('5 a minute');
      // One token every 12 s: the caller is told when to come back.
      expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused?.headers['retry-after'])).toBeLessThanOrEqual(12);
      // The seeded company (the default limit) is not slowed by its neighbour.
      expect((await list(second, gw.company.token)).statusCode).toBe(200);
      expect((await list(gw.app, gw.company.token)).headers['ratelimit-limit']).toBe('600');
    } finally {
      await second.close();
      await secondDeps.close();
    }
  });
});

describe('bounded work per company', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({
      worker: false,
      env: { MAX_WAITERS_PER_COMPANY: '1', AVAILABILITY_MAX_DAYS_AHEAD: '30' },
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('holds at most MAX_WAITERS_PER_COMPANY waiting requests; the next is answered at once', async () => {
    const day = testDay();
    const book = (time: string, email: string) =>
      gw.app.inject({
        method: 'POST',
        url: '/api/v2/bookings',
        headers: auth(gw.company.token, { prefer: 'wait=30' }),
        payload: {
          serviceId: gw.company.serviceIds[0],
          start: berlin(day, time),
          timeZone: 'Europe/Berlin',
          customer: { name: 'Waiting', email },
        },
      });
    // No worker runs yet: a request that waits stays waiting.
    const first = book('09:00', 'waiter-1@example.org');
    const second = book('10:00', 'waiter-2@example.org');
    const quick = await Promise.race([first.then(() => 'first'), second.then(() => 'second')]);
    const [answeredAtOnce, stillWaiting] = quick === 'first' ? [first, second] : [second, first];
    const immediate = await answeredAtOnce;
    expect(immediate.statusCode).toBe(202);
    expect(immediate.headers['preference-applied']).toBeUndefined();
    expect(immediate.json().status).toBe('pending');
    // The waiting one gets its outcome once a worker books it.
    await gw.startWorker();
    const waited = await stillWaiting;
    expect(waited.statusCode).toBe(201);
    expect(waited.headers['preference-applied']).toBe('wait=30');
    // The slot is free again for the next caller that waits.
    const third = await book('11:00', 'waiter-3@example.org');
    expect(third.statusCode).toBe(201);
    await eventually(async () => {
      const res = await gw.app.inject({
        method: 'GET',
        url: `/api/v2/bookings/${immediate.json().id}`,
        headers: auth(gw.company.token),
      });
      return res.json().status === 'confirmed' ? true : undefined;
    });
  });

  it('answers 400 naming end for an availability window past AVAILABILITY_MAX_DAYS_AHEAD', async () => {
    const near = testDay();
    const far = testDays(40).at(-1) as string;
    const availability = (start: string, end: string) =>
      gw.app.inject({
        method: 'GET',
        url: `/api/v2/services/${gw.company.serviceIds[0]}/availability?start=${start}&end=${end}&timeZone=Europe/Berlin`,
        headers: auth(gw.company.token),
      });
    expect((await availability(near, near)).statusCode).toBe(200);
    const refused = await availability(far, far);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'end', maxDaysAhead: 30 },
    });
    expect(refused.json().error.message).toMatch(/^end: /);
  });
});
