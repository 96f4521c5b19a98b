import { signCalcomPayload } from '@calgate/calcom';
import { webhookInbox } from '@calgate/db';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from '../support/gateway.ts';
import { report } from './support.ts';

let gw: Gateway;
let bookingId: string;
const answers: Record<string, number> = {};
let requests = 0;
const failures: string[] = [];
/** What became of the signed webhook with a 5,000-deep payload. */
let deepWebhook: string | undefined;

beforeAll(async () => {
  gw = await startGateway();
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, { prefer: 'wait=20' }),
    payload: {
      serviceId: gw.company.serviceIds[0],
      start: berlin(testDay(), '09:00'),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Target', email: 'target@example.org' },
    },
  });
  bookingId = res.json().id;
});
afterAll(async () => {
  await gw.close();
  report('hostile-input', { requests, answers, failures: failures.length, deepWebhook });
});

const nasty = fc.oneof(
  fc.constantFrom(
    "'; drop table appointments; --",
    '" OR 1=1 --',
    '{"$gt":""}',
    '__proto__',
    'constructor',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    '%00',
    'NaN',
    '-1',
    '1e309',
    '9999-99-99T99:99:99Z',
    'Europe/Nowhere',
    'x'.repeat(10_000),
  ),
  fc.string({ unit: 'binary' }),
  fc.string(),
);
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    nasty,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nasty, tie('value'), { maxKeys: 4 }),
  ),
})).value;

function bookingBody(): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      serviceId: fc.oneof(fc.constant(gw.company.serviceIds[0]), nasty, anyValue),
      start: fc.oneof(
        fc.constant(berlin(testDay(), '09:00')),
        nasty,
        fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
      ),
      timeZone: fc.oneof(fc.constant('Europe/Berlin'), nasty),
      staffId: fc.oneof(fc.constant(gw.company.staffIds[0]), nasty),
      customer: fc.oneof(
        fc.record(
          {
            name: fc.oneof(fc.constant('Fuzz'), nasty),
            email: fc.oneof(fc.constant('fuzz@example.org'), nasty),
            phone: nasty,
          },
          { requiredKeys: [] },
        ),
        anyValue,
      ),
      notes: anyValue,
      metadata: anyValue,
    },
    { requiredKeys: [] },
  );
}

const headerValue = fc.oneof(
  nasty.filter((s) => /^[\t\x20-\x7e\x80-\xff]*$/.test(s) && s.length < 2000),
  fc.constantFrom('wait=5', 'wait=-1', 'wait=99999', 'respond-async'),
);

async function send(name: string, options: InjectOptions) {
  const res = await gw.app.inject(options);
  requests++;
  const key = `${res.statusCode}`;
  answers[key] = (answers[key] ?? 0) + 1;
  let body: { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = undefined;
  }
  const problem =
    res.statusCode >= 500
      ? `5xx ${res.statusCode}: ${res.body.slice(0, 200)}`
      : res.statusCode >= 400 &&
          (typeof body?.error?.code !== 'string' ||
            typeof body.error.message !== 'string' ||
            typeof body.error.details !== 'object')
        ? `not in the error format: ${res.body.slice(0, 200)}`
        : undefined;
  if (problem !== undefined) failures.push(`${name}: ${problem}`);
  return problem;
}

const RUNS = 150;
/** Nesting levels of the deep-JSON case. */
const DEPTH = 5_000;

/** How deep a parsed JSON value nests objects (walked without recursion). */
function depthOf(value: unknown): number {
  let depth = 0;
  let node = value;
  while (typeof node === 'object' && node !== null) {
    depth++;
    node = Object.values(node)[0];
  }
  return depth;
}

/** Percent-encodes any string, unpaired surrogates included (as a raw client could send). */
const encode = (value: string) =>
  [...Buffer.from(value, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');

describe('scenario 6: hostile input', () => {
  it('POST /api/v2/bookings: random bodies and headers never cause a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(bookingBody(), headerValue, headerValue, async (body, idempotency, prefer) => {
        const problem = await send('POST bookings', {
          method: 'POST',
          url: '/api/v2/bookings',
          headers: auth(gw.company.token, { 'idempotency-key': idempotency, prefer }),
          payload: body,
        });
        expect(problem).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('availability: random query strings never cause a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(gw.company.serviceIds[0] as string), nasty),
        fc.dictionary(fc.constantFrom('start', 'end', 'timeZone', 'staffId', 'x', 'start[]'), nasty, {
          maxKeys: 5,
        }),
        async (serviceId, query) => {
          const qs = Object.entries(query)
            .map(([key, value]) => `${encode(key)}=${encode(String(value))}`)
            .join('&');
          const problem = await send('GET availability', {
            method: 'GET',
            url: `/api/v2/services/${encode(serviceId)}/availability?${qs}`,
            headers: auth(gw.company.token),
          });
          expect(problem).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('PATCH and DELETE /api/v2/bookings/:id, GET by id: random ids and bodies never cause a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(bookingId), nasty),
        fc.constantFrom('PATCH', 'DELETE', 'GET') as fc.Arbitrary<'PATCH' | 'DELETE' | 'GET'>,
        fc.oneof(
          fc.record(
            { start: nasty, timeZone: nasty, reason: anyValue, cancellationReason: anyValue },
            { requiredKeys: [] },
          ),
          anyValue,
        ),
        async (id, method, body) => {
          const problem = await send(`${method} booking`, {
            method,
            url: `/api/v2/bookings/${encode(id)}`,
            headers: auth(gw.company.token, { prefer: 'wait=1' }),
            ...(method === 'GET' ? {} : { payload: body as object }),
          });
          expect(problem).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('POST /api/webhooks/calcom: random bodies, signed or not, never cause a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(anyValue, fc.boolean(), headerValue, async (value, signed, badSignature) => {
        const body =
          JSON.stringify(
            typeof value === 'object' && value !== null
              ? { triggerEvent: 'BOOKING_CREATED', ...value }
              : value,
          ) ?? 'null';
        const problem = await send('POST webhook', {
          method: 'POST',
          url: '/api/webhooks/calcom',
          headers: {
            'content-type': 'application/json',
            'x-cal-signature-256': signed ? signCalcomPayload(body, 'test-webhook-secret-123') : badSignature,
          },
          payload: body,
        });
        expect(problem).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('JSON nested 5,000 levels deep, sent as raw text, gets a 400 in our format (a signed webhook is stored and ignored)', async () => {
    const deep = `${'{"d":'.repeat(DEPTH)}"bottom"${'}'.repeat(DEPTH)}`;
    expect(depthOf(JSON.parse(deep))).toBe(DEPTH);
    const booking = (value: string) =>
      `{"serviceId":${JSON.stringify(gw.company.serviceIds[0])},"start":${JSON.stringify(
        berlin(testDay(), '10:00'),
      )},"timeZone":"Europe/Berlin","customer":{"name":"Deep","email":"deep@example.org"},"metadata":${value}}`;
    const webhook = (value: string) =>
      `{"triggerEvent":"BOOKING_CREATED","createdAt":"2020-01-01T00:00:00Z","payload":${value}}`;
    const cases: Array<{ name: string; url: string; body: string; signed: boolean }> = [
      { name: 'a booking body that is all depth', url: '/api/v2/bookings', body: deep, signed: false },
      {
        name: 'a booking whose metadata is deep',
        url: '/api/v2/bookings',
        body: booking(deep),
        signed: false,
      },
      {
        name: 'a signed webhook body that is all depth',
        url: '/api/webhooks/calcom',
        body: deep,
        signed: true,
      },
      {
        name: 'a signed webhook whose payload is deep',
        url: '/api/webhooks/calcom',
        body: webhook(deep),
        signed: true,
      },
    ];
    const answered: Record<string, { status: number; body: string }> = {};
    for (const c of cases) {
      const res = await gw.app.inject({
        method: 'POST',
        url: c.url,
        headers: {
          ...auth(gw.company.token),
          'content-type': 'application/json',
          ...(c.signed
            ? { 'x-cal-signature-256': signCalcomPayload(c.body, 'test-webhook-secret-123') }
            : {}),
        },
        payload: c.body,
      });
      requests++;
      answers[res.statusCode] = (answers[res.statusCode] ?? 0) + 1;
      answered[c.name] = { status: res.statusCode, body: res.body };
    }
    // Bodies that are not what the route takes: 400 in our format, naming what is wrong.
    for (const name of cases.slice(0, 3).map((c) => c.name)) {
      const { status, body } = answered[name] as { status: number; body: string };
      expect(status, name).toBe(400);
      const error = JSON.parse(body).error;
      expect(error.code, name).toBe('VALIDATION_FAILED');
      expect(error.message, name).toMatch(/serviceId|metadata|triggerEvent/);
      expect(typeof error.details, name).toBe('object');
    }
    // A signed delivery is Cal.com's (which never retries): stored as it came and answered 200,
    // then processed to an end without applying anything.
    const signed = answered['a signed webhook whose payload is deep'] as { status: number; body: string };
    expect(signed.status).toBe(200);
    const inboxId = JSON.parse(signed.body).id as string;
    const status = await eventually(async () => {
      const [row] = await gw.database.db
        .select({ status: webhookInbox.status })
        .from(webhookInbox)
        .where(eq(webhookInbox.id, inboxId));
      return row !== undefined && ['processed', 'ignored', 'failed'].includes(row.status)
        ? row.status
        : undefined;
    }, 30_000);
    deepWebhook = status;
    expect(['ignored', 'failed']).toContain(status);
    // The process is still answering.
    const live = await gw.app.inject({ method: 'GET', url: '/health/live' });
    expect(live.statusCode).toBe(200);
  });

  it('huge and wrongly typed payloads get clear 4xx answers', async () => {
    const huge = { serviceId: 'x', notes: 'n'.repeat(2 * 1024 * 1024) };
    const tooLarge = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token),
      payload: huge,
    });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    const wrongType = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: { ...auth(gw.company.token), 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect([400, 415]).toContain(wrongType.statusCode);
    expect(wrongType.json().error.message).toMatch(/body|Content-Type/);
    const notJson = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: { ...auth(gw.company.token), 'content-type': 'application/json' },
      payload: '{"serviceId":',
    });
    expect(notJson.statusCode).toBe(400);
    expect(failures).toEqual([]);
  });
});
