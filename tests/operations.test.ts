import { readFileSync } from 'node:fs';
import { signCalcomPayload } from '@calgate/calcom';
import { appointments, webhookInbox } from '@calgate/db';
import { freePort, throwawayRedis } from '@calgate/testkit';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

// What the OpenTelemetry SDK sets up in a service, with spans kept in memory.
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const ADMIN = { username: 'operator', password: 'correct-horse-battery' };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the dashboard and metrics', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password } });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('refuses the dashboard and metrics without credentials or with wrong ones', async () => {
    for (const url of ['/admin/queues', '/admin/queues/api/queues', '/metrics']) {
      const none = await gw.app.inject({ method: 'GET', url });
      expect(none.statusCode).toBe(401);
      expect(none.headers['www-authenticate']).toContain('Basic');
      expect(none.json().error.code).toBe('UNAUTHORIZED');
      const wrong = await gw.app.inject({
        method: 'GET',
        url,
        headers: { authorization: basic(ADMIN.username, 'nope') },
      });
      expect(wrong.statusCode).toBe(401);
      // A company API token is not an operator credential.
      const token = await gw.app.inject({ method: 'GET', url, headers: auth(gw.company.token) });
      expect(token.statusCode).toBe(401);
    }
  });

  it('pauses operator logins from an address after ten failures in a minute, not other addresses', async () => {
    const guesser = '203.0.113.9';
    for (let i = 0; i < 10; i++) {
      const url = i % 2 === 0 ? '/admin/queues' : '/api/admin/v1/companies';
      const wrong = await gw.app.inject({
        method: 'GET',
        url,
        remoteAddress: guesser,
        headers: { authorization: basic(ADMIN.username, `guess-${i}`) },
      });
      expect(wrong.statusCode, url).toBe(401);
    }
    const right = { authorization: basic(ADMIN.username, ADMIN.password) };
    for (const url of ['/admin/queues', '/metrics', '/api/admin/v1/companies']) {
      const paused = await gw.app.inject({ method: 'GET', url, remoteAddress: guesser, headers: right });
      expect(paused.statusCode, url).toBe(429);
      expect(paused.json().error.code).toBe('RATE_LIMIT_EXCEEDED');
      expect(Number(paused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(paused.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
    const elsewhere = await gw.app.inject({ method: 'GET', url: '/admin/queues', headers: right });
    expect(elsewhere.statusCode).toBe(200);
  });

  it('shows every queue on the dashboard to an operator', async () => {
    const headers = { authorization: basic(ADMIN.username, ADMIN.password) };
    const page = await gw.app.inject({ method: 'GET', url: '/admin/queues', headers });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    // Its buttons retry and delete jobs: never inside another site's frame, never cached.
    expect(page.headers).toMatchObject({
      'x-frame-options': 'DENY',
      'content-security-policy': "frame-ancestors 'none'",
      'cache-control': 'no-store',
    });
    const api = await gw.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers });
    expect(api.statusCode).toBe(200);
    const names = (api.json().queues as Array<{ name: string }>).map((q) => q.name).sort();
    expect(names).toEqual(['bookings', 'compensation', 'composite', 'outbound', 'sync', 'webhooks']);
  });

  it('serves Prometheus metrics with Cal.com calls, queue depths and shared counters', async () => {
    const day = testDay();
    await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${gw.company.serviceIds[0]}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      headers: auth(gw.company.token),
    });
    const res = await gw.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: basic(ADMIN.username, ADMIN.password) },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(
      /calgate_calcom_requests_total\{[^}]*operation="slots.get"[^}]*status="200"[^}]*\} [1-9]/,
    );
    expect(res.body).toContain('calgate_calcom_request_duration_seconds_bucket');
    expect(res.body).toMatch(/calgate_queue_jobs\{[^}]*queue="bookings"[^}]*state="waiting"/);
    expect(res.body).toContain('calgate_events{');
  });
});

describe('tracing', () => {
  let gw: Gateway;
  beforeAll(async () => {
    // As with an OTLP endpoint configured; the spans go to the in-memory exporter above.
    gw = await startGateway({ env: { OTEL_TRACES_EXPORTER: 'console' } });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('follows one booking in one trace: API request, queue, worker, Cal.com call', async () => {
    exporter.reset();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: {
        serviceId: gw.company.serviceIds[0],
        start: berlin(testDay(), '10:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Tracy', email: 'tracy@example.org' },
      },
    });
    expect(res.statusCode).toBe(201);
    // The upstream HTTP request (server span), the enqueue, the worker's processing, the Cal.com call.
    // The 201 is answered on the worker's notice, which comes before the job (and its span) ends:
    // the wait is on every span of the trace having finished, not on the first one.
    const expected = ['request', 'add bookings.booking.create', 'process bookings', 'calcom bookings.create'];
    const inTraceOf = (all: ReturnType<typeof exporter.getFinishedSpans>) => {
      const traceId = all.find((s) => s.name === 'calcom bookings.create')?.spanContext().traceId;
      return all.filter((s) => s.spanContext().traceId === traceId).map((s) => s.name);
    };
    const spans = await eventually(async () => {
      const all = exporter.getFinishedSpans();
      const names = inTraceOf(all);
      return expected.every((name) => names.includes(name)) ? all : undefined;
    }).catch(() => exporter.getFinishedSpans());
    const traceId = spans.find((s) => s.name === 'calcom bookings.create')?.spanContext().traceId;
    const summary = spans.map((s) => `${s.name} ${s.spanContext().traceId.slice(0, 8)}`).join(', ');
    expect(inTraceOf(spans), summary).toEqual(expect.arrayContaining(expected));
    const root = spans.find((s) => s.name === 'request' && s.spanContext().traceId === traceId);
    expect(root?.parentSpanContext).toBeUndefined();
  });
});

describe('a webhook accepted while Redis is down', () => {
  let redis: ReturnType<typeof throwawayRedis>;
  let gw: Gateway;
  const startRedis = () => redis.start();
  const stopRedis = () => redis.stop();

  beforeAll(async () => {
    redis = throwawayRedis(await freePort());
    await startRedis();
    gw = await startGateway({ env: { REDIS_URL: redis.url, SWEEP_INTERVAL_SECONDS: '1' } });
  });
  afterAll(async () => {
    await gw.close();
    await stopRedis();
  });

  it('is stored, answered 200, and processed once Redis is back', async () => {
    const body = JSON.stringify(
      JSON.parse(
        readFileSync(
          new URL('../packages/calcom/contract/webhooks/booking-created.json', import.meta.url),
          'utf8',
        ),
      ),
    )
      .replaceAll('318552', String(HAIRCUT.alex))
      .replaceAll('4hTrP8wWb1Ukq2VxGcZ9sN', 'redisOutageBooking01');
    await stopRedis();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/webhooks/calcom',
      headers: {
        'content-type': 'application/json',
        'x-cal-signature-256': signCalcomPayload(body, 'test-webhook-secret-123'),
      },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    const [stored] = await gw.database.db
      .select()
      .from(webhookInbox)
      .where(eq(webhookInbox.id, res.json().id));
    expect(stored?.status).toBe('received');

    await startRedis();
    // Wait for the inbox row to be marked processed: the appointment appears a moment before.
    await eventually(async () => {
      const [row] = await gw.database.db
        .select({ status: webhookInbox.status })
        .from(webhookInbox)
        .where(eq(webhookInbox.id, res.json().id));
      return row?.status === 'processed' ? true : undefined;
    });
    const [recorded] = await gw.database.db
      .select()
      .from(appointments)
      .where(eq(appointments.calcomBookingUid, 'redisOutageBooking01'));
    expect(recorded).toMatchObject({ status: 'confirmed', source: 'calcom' });
  });
});
