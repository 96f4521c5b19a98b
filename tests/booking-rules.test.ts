import { seedCompany } from '@calgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

let gw: Gateway;
let serviceId: string;
let alex: string;
beforeAll(async () => {
  gw = await startGateway();
  serviceId = gw.company.serviceIds[0] as string;
  alex = gw.company.staffIds[0] as string;
});
afterAll(async () => {
  await gw.close();
});

const day = testDay();
const customer = { name: 'Ada Lovelace', email: 'ada@example.org' };
const book = (
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  token = gw.company.token,
) => gw.app.inject({ method: 'POST', url: '/api/v2/bookings', headers: auth(token, headers), payload: body });

describe('authentication and tenant isolation', () => {
  it('answers 401 UNAUTHORIZED without a token or with a bad one', async () => {
    for (const headers of [{}, { authorization: 'Bearer cgt_nope' }, { authorization: 'Basic abc' }]) {
      const res = await gw.app.inject({ method: 'GET', url: '/api/v2/services', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHORIZED');
    }
  });

  it("answers 404 for another company's service and booking, and changes nothing", async () => {
    const other = await seedCompany(gw.database.db, { name: 'Other' });
    const mine = await book(
      { serviceId, start: berlin(day, '09:00'), timeZone: 'Europe/Berlin', staffId: alex, customer },
      { prefer: 'wait=10' },
    );
    expect(mine.statusCode).toBe(201);
    const id = mine.json().id;
    const attempts = [
      { method: 'GET', url: `/api/v2/bookings/${id}` },
      {
        method: 'PATCH',
        url: `/api/v2/bookings/${id}`,
        payload: { start: berlin(day, '15:00'), timeZone: 'UTC' },
      },
      { method: 'DELETE', url: `/api/v2/bookings/${id}` },
      {
        method: 'GET',
        url: `/api/v2/services/${serviceId}/availability?start=${day}&end=${day}&timeZone=UTC`,
      },
    ] as const;
    for (const attempt of attempts) {
      const res = await gw.app.inject({ ...attempt, headers: auth(other.token) });
      expect(res.statusCode, `${attempt.method} ${attempt.url}`).toBe(404);
    }
    const booked = await book(
      { serviceId, start: berlin(day, '16:00'), timeZone: 'UTC', customer },
      {},
      other.token,
    );
    expect(booked.statusCode).toBe(404);
    expect(
      (await gw.app.inject({ method: 'GET', url: '/api/v2/services', headers: auth(other.token) })).json()
        .services,
    ).toEqual([]);
    const after = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/bookings/${id}`,
      headers: auth(gw.company.token),
    });
    expect(after.json()).toMatchObject({ status: 'confirmed', start: berlin(day, '09:00') });
  });
});

describe('bad input gets the right 4xx, naming the field', () => {
  const cases: Array<[string, () => Promise<{ statusCode: number; json(): any }>, number, string, RegExp]> = [
    [
      'an unknown time zone',
      () =>
        gw.app.inject({
          method: 'GET',
          url: `/api/v2/services/${serviceId}/availability?start=${day}&end=${day}&timeZone=Mars/Base`,
          headers: auth(gw.company.token),
        }),
      400,
      'INVALID_TIMEZONE',
      /timeZone/,
    ],
    [
      'end before start',
      () =>
        gw.app.inject({
          method: 'GET',
          url: `/api/v2/services/${serviceId}/availability?start=${day}&end=2020-01-01&timeZone=UTC`,
          headers: auth(gw.company.token),
        }),
      400,
      'VALIDATION_FAILED',
      /end/,
    ],
    [
      'a date that is not a date',
      () =>
        gw.app.inject({
          method: 'GET',
          url: `/api/v2/services/${serviceId}/availability?start=soon&end=${day}&timeZone=UTC`,
          headers: auth(gw.company.token),
        }),
      400,
      'VALIDATION_FAILED',
      /start/,
    ],
    [
      'a missing query field',
      () =>
        gw.app.inject({
          method: 'GET',
          url: `/api/v2/services/${serviceId}/availability?start=${day}`,
          headers: auth(gw.company.token),
        }),
      400,
      'VALIDATION_FAILED',
      /end/,
    ],
    [
      'an unknown service',
      () =>
        gw.app.inject({
          method: 'GET',
          url: `/api/v2/services/svc_nope/availability?start=${day}&end=${day}&timeZone=UTC`,
          headers: auth(gw.company.token),
        }),
      404,
      'SERVICE_NOT_FOUND',
      /serviceId/,
    ],
    [
      'an unknown staff member',
      () =>
        gw.app.inject({
          method: 'GET',
          url: `/api/v2/services/${serviceId}/availability?start=${day}&end=${day}&timeZone=UTC&staffId=stf_nope`,
          headers: auth(gw.company.token),
        }),
      404,
      'STAFF_NOT_FOUND',
      /staffId/,
    ],
    [
      'a bad email',
      () =>
        book({
          serviceId,
          start: berlin(day, '10:00'),
          timeZone: 'UTC',
          customer: { name: 'A', email: 'not-an-email' },
        }),
      400,
      'VALIDATION_FAILED',
      /customer\.email/,
    ],
    [
      'a start without offset',
      () => book({ serviceId, start: `${day}T10:00:00`, timeZone: 'UTC', customer }),
      400,
      'VALIDATION_FAILED',
      /start/,
    ],
    [
      'a start in the past',
      () => book({ serviceId, start: '2020-01-01T10:00:00Z', timeZone: 'UTC', customer }),
      400,
      'VALIDATION_FAILED',
      /start/,
    ],
    [
      'a booking time zone that does not exist',
      () => book({ serviceId, start: berlin(day, '10:00'), timeZone: 'Nowhere/Land', customer }),
      400,
      'INVALID_TIMEZONE',
      /timeZone/,
    ],
    [
      'an unknown field',
      () => book({ serviceId, start: berlin(day, '10:00'), timeZone: 'UTC', customer, end: 'x' }),
      400,
      'VALIDATION_FAILED',
      /end|Unrecognized/,
    ],
    [
      'a wrong type',
      () => book({ serviceId: 42, start: berlin(day, '10:00'), timeZone: 'UTC', customer }),
      400,
      'VALIDATION_FAILED',
      /serviceId/,
    ],
    [
      'an unknown booking',
      () =>
        gw.app.inject({ method: 'GET', url: '/api/v2/bookings/apt_nope', headers: auth(gw.company.token) }),
      404,
      'BOOKING_NOT_FOUND',
      /apt_nope/,
    ],
    [
      'malformed JSON',
      () =>
        gw.app.inject({
          method: 'POST',
          url: '/api/v2/bookings',
          headers: auth(gw.company.token, { 'content-type': 'application/json' }),
          payload: '{"serviceId":',
        }),
      400,
      'VALIDATION_FAILED',
      /JSON/,
    ],
    [
      'a bad Idempotency-Key',
      () =>
        book(
          { serviceId, start: berlin(day, '10:00'), timeZone: 'UTC', customer },
          { 'idempotency-key': 'has spaces in it' },
        ),
      400,
      'VALIDATION_FAILED',
      /Idempotency-Key/,
    ],
    [
      'a huge body',
      () =>
        book({
          serviceId,
          start: berlin(day, '10:00'),
          timeZone: 'UTC',
          customer,
          notes: 'x'.repeat(2 * 1024 * 1024),
        }),
      413,
      'PAYLOAD_TOO_LARGE',
      /too large/,
    ],
  ];
  it.each(cases)('%s', async (_name, send, status, code, field) => {
    const res = await send();
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(field);
    expect(body.error).toHaveProperty('details');
  });
});

describe('idempotency keys', () => {
  const body = () => ({
    serviceId,
    start: berlin(day, '11:00'),
    timeZone: 'Europe/Berlin',
    staffId: alex,
    customer,
  });

  it('replay the same appointment for the same key and body, with one Cal.com booking', async () => {
    const first = await book(body(), { 'idempotency-key': 'idem-same', prefer: 'wait=10' });
    const second = await book(body(), { 'idempotency-key': 'idem-same', prefer: 'wait=10' });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json().id).toBe(first.json().id);
    expect(second.headers['idempotent-replayed']).toBe('true');
    const mine = gw.sandbox.control.bookings().filter((b) => b.metadata.calgateId === first.json().id);
    expect(mine).toHaveLength(1);
  });

  it('refuse the same key with a different body (422)', async () => {
    const res = await book({ ...body(), notes: 'changed' }, { 'idempotency-key': 'idem-same' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('never make two bookings from two identical concurrent requests', async () => {
    const payload = { ...body(), start: berlin(day, '12:00') };
    const results = await Promise.all(
      Array.from({ length: 4 }, () => book(payload, { 'idempotency-key': 'idem-race', prefer: 'wait=10' })),
    );
    for (const res of results) expect([201, 409]).toContain(res.statusCode);
    for (const res of results.filter((r) => r.statusCode === 409))
      expect(res.json().error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    const ids = new Set(results.filter((r) => r.statusCode === 201).map((r) => r.json().id));
    expect(ids.size).toBe(1);
    const start = Date.parse(berlin(day, '12:00'));
    expect(
      gw.sandbox.control.bookings().filter((b) => b.start === start && b.eventTypeId === HAIRCUT.alex),
    ).toHaveLength(1);
  });
});

describe('conflicts', () => {
  it('answer 409 SLOT_UNAVAILABLE with up to 3 nearest alternatives when the slot was taken after availability', async () => {
    const avail = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${serviceId}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin&staffId=${alex}`,
      headers: auth(gw.company.token),
    });
    expect(avail.json().slots.map((s: { start: string }) => s.start)).toContain(berlin(day, '13:00'));
    gw.sandbox.control.createBookingDirect({
      eventTypeId: HAIRCUT.alex,
      start: new Date(berlin(day, '13:00')).toISOString(),
      attendee: { name: 'Walk-in', email: 'walkin@example.org', timeZone: 'Europe/Berlin' },
    });
    const res = await book(
      { serviceId, start: berlin(day, '13:00'), timeZone: 'Europe/Berlin', staffId: alex, customer },
      { prefer: 'wait=10' },
    );
    expect(res.statusCode).toBe(409);
    const error = res.json().error;
    expect(error.code).toBe('SLOT_UNAVAILABLE');
    expect(error.details.alternatives.map((a: { start: string }) => a.start)).toEqual([
      berlin(day, '12:30'),
      berlin(day, '13:30'),
      berlin(day, '13:45'),
    ]);
    const view = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/bookings/${error.details.appointmentId}`,
      headers: auth(gw.company.token),
    });
    expect(view.json()).toMatchObject({ status: 'failed', failure: { code: 'SLOT_UNAVAILABLE' } });
  });

  it('let exactly one of two concurrent requests for one slot book it', async () => {
    gw.sandbox.control.setLatency(30);
    try {
      const payload = (email: string) => ({
        serviceId,
        start: berlin(day, '15:00'),
        timeZone: 'Europe/Berlin',
        staffId: alex,
        customer: { name: 'X', email },
      });
      const results = await Promise.all([
        book(payload('one@example.org'), { prefer: 'wait=15' }),
        book(payload('two@example.org'), { prefer: 'wait=15' }),
      ]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
      const start = Date.parse(berlin(day, '15:00'));
      const live = gw.sandbox.control.bookings().filter((b) => b.start === start && b.status === 'accepted');
      expect(live).toHaveLength(1);
    } finally {
      gw.sandbox.control.setLatency(0);
    }
  });

  it('keep the original appointment when a reschedule hits a taken slot', async () => {
    const created = await book(
      { serviceId, start: berlin(day, '16:00'), timeZone: 'Europe/Berlin', staffId: alex, customer },
      { prefer: 'wait=10' },
    );
    const original = created.json();
    gw.sandbox.control.createBookingDirect({
      eventTypeId: HAIRCUT.alex,
      start: new Date(berlin(day, '17:00')).toISOString(),
      attendee: { name: 'Walk-in', email: 'walkin2@example.org', timeZone: 'Europe/Berlin' },
    });
    const res = await gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${original.id}`,
      headers: auth(gw.company.token, { prefer: 'wait=10' }),
      payload: { start: berlin(day, '17:00'), timeZone: 'Europe/Berlin' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'SLOT_UNAVAILABLE', details: { unchanged: true } });
    const after = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/bookings/${original.id}`,
      headers: auth(gw.company.token),
    });
    expect(after.json()).toMatchObject({
      status: 'confirmed',
      start: berlin(day, '16:00'),
      calcom: original.calcom,
    });
  });
});
