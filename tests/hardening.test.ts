import { failCreateBooking } from '@calgate/domain';
import { INTERNAL_FAILURE_MESSAGE } from '@calgate/errors';
import { freePort, throwawayRedis } from '@calgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from './support/gateway.ts';

const ADMIN = { ADMIN_USERNAME: 'operator', ADMIN_PASSWORD: 'operator-password-1' };

describe('what callers read of an internal failure', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ worker: false });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('is our code and a fixed message, never the text of a database error', async () => {
    const accepted = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token),
      payload: {
        serviceId: gw.company.serviceIds[0],
        start: berlin(testDay(), '10:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Internal Case', email: 'internal-case@example.org' },
      },
    });
    expect(accepted.statusCode).toBe(202);
    const id = accepted.json().id as string;
    // What postgres.js throws for a failed statement: SQL text and the customer's data in it.
    const dbError = Object.assign(
      new Error('insert into "customers" ("email") values ($1) - duplicate key: internal-case@example.org'),
      { code: '23505', query: 'insert into "customers" ...', parameters: ['internal-case@example.org'] },
    );
    await failCreateBooking(gw.runtime(), { appointmentId: id }, dbError, {
      job: { data: {} },
    } as never);
    const view = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/bookings/${id}`,
      headers: auth(gw.company.token),
    });
    expect(view.statusCode).toBe(200);
    expect(view.json().status).toBe('failed');
    expect(view.json().failure).toMatchObject({ code: 'INTERNAL', reason: INTERNAL_FAILURE_MESSAGE });
    expect(view.body).not.toContain('insert into');
    expect(view.body).not.toContain('duplicate key');
  });
});

describe('operational endpoints', () => {
  let gw: Gateway;
  let redis: ReturnType<typeof throwawayRedis>;
  let metricsPort: number;
  beforeAll(async () => {
    redis = throwawayRedis(await freePort());
    await redis.start();
    metricsPort = await freePort();
    gw = await startGateway({
      env: { REDIS_URL: redis.url, WORKER_METRICS_PORT: String(metricsPort), ...ADMIN },
    });
  });
  afterAll(async () => {
    await redis.start();
    // Closing while the connections are still reconnecting would wait on them.
    await eventually(async () =>
      (await gw.app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200 ? true : undefined,
    );
    await gw.close();
    await redis.stop();
  });

  it('answers a webhook company id past 64 characters with 400 naming it, never a 500', async () => {
    for (const length of [65, 80, 100]) {
      const res = await gw.app.inject({
        method: 'POST',
        url: `/api/webhooks/calcom/${'c'.repeat(length)}`,
        headers: { 'content-type': 'application/json', 'x-cal-signature-256': 'sha256=00' },
        payload: '{}',
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(res.json().error.message).toContain('companyId');
    }
  });

  it('gives a client 30 s to send a whole request (Fastify would wait for ever)', async () => {
    // Node enforces it (and answers 408) on the server this app listens with.
    expect(gw.app.server.requestTimeout).toBe(30_000);
  });

  it('keeps a well-formed X-Request-Id and replaces anything else with an id of its own', async () => {
    const idOf = async (value: string) => {
      const res = await gw.app.inject({
        method: 'GET',
        url: '/api/v2/bookings/apt_unknown',
        headers: auth(gw.company.token, { 'x-request-id': value }),
      });
      expect(res.statusCode).toBe(404);
      return res.headers['x-request-id'] as string;
    };
    expect(await idOf('lb-7f3a.42:1')).toBe('lb-7f3a.42:1');
    for (const hostile of ['x'.repeat(65), 'has space', 'evil\u00e9id', '<script>', 'a/b']) {
      const given = await idOf(hostile);
      expect(given).not.toBe(hostile);
      expect(given).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("serves the worker's metrics only to operators", async () => {
    const url = `http://127.0.0.1:${metricsPort}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    const wrong = await fetch(url, {
      headers: { authorization: `Basic ${Buffer.from('operator:wrong-password').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const ok = await fetch(url, {
      headers: {
        authorization: `Basic ${Buffer.from(`${ADMIN.ADMIN_USERNAME}:${ADMIN.ADMIN_PASSWORD}`).toString('base64')}`,
      },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('calgate_');
  });

  it('answers readiness with what is down, and keeps the reason (addresses, driver text) for the log', async () => {
    expect((await gw.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    await redis.stop();
    const down = await gw.app.inject({ method: 'GET', url: '/health/ready' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({
      status: 'unavailable',
      postgres: { ok: true },
      redis: { ok: false },
    });
    expect(Object.keys(down.json().redis).sort()).toEqual(['latencyMs', 'ok']);
    expect(down.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|closed|timed out/i);
  });
});
