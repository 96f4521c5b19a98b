import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

const ADMIN = { username: 'operator', password: 'operator-password-42' };
const operator = {
  authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`,
};

/** Every line the gateway logs, at debug, to look for personal data in. */
const lines: string[] = [];
const sink = new Writable({
  write(chunk, _encoding, callback) {
    lines.push(String(chunk));
    callback();
  },
});

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({
    worker: false,
    env: { LOG_LEVEL: 'debug', ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
    logDestination: sink,
  });
});
afterAll(async () => {
  await gw.close();
});

function book(fields: Record<string, unknown>) {
  return gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token),
    payload: {
      serviceId: gw.company.serviceIds[0],
      start: berlin(testDay(), '10:00'),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Bad Input', email: 'bad-input@example.org' },
      ...fields,
    },
  });
}

async function appointmentsOf(email: string): Promise<number> {
  const rows = await gw.database.sql<Array<{ n: number }>>`
    select count(*)::int as n from appointments a join customers c on c.id = a.customer_id
    where c.email = ${email}`;
  return rows[0]?.n ?? 0;
}

describe('dates and zones that do not exist', () => {
  it('refuses 31 February (and 24:00, and the year 9999) naming the field, booking nothing', async () => {
    for (const start of [
      '2027-02-31T10:00:00+01:00',
      `${testDay()}T24:00:00+01:00`,
      '9999-12-31T23:45:00Z',
    ]) {
      const res = await book({ start, customer: { name: 'No Such Day', email: 'no-such-day@example.org' } });
      expect(res.statusCode, `${start}: ${res.body}`).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'start' } });
      expect(res.json().error.message).toMatch(/^start: .* is not a real date and time/);
    }
    expect(await appointmentsOf('no-such-day@example.org')).toBe(0);
  });

  it('refuses such a day in an availability window and a hold, naming the field', async () => {
    const service = gw.company.serviceIds[0];
    const window = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${service}/availability?start=2027-02-31T00:00:00Z&end=2027-03-02T00:00:00Z&timeZone=Europe/Berlin`,
      headers: auth(gw.company.token),
    });
    expect(window.statusCode, window.body).toBe(400);
    expect(window.json().error.message).toMatch(/^start: .* is not a real date/);
    const yearZero = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${service}/availability?start=0000-01-01T00:00:00Z&end=0000-01-02T00:00:00Z&timeZone=UTC`,
      headers: auth(gw.company.token),
    });
    expect(yearZero.statusCode, yearZero.body).toBe(400);
    const hold = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/holds',
      headers: auth(gw.company.token),
      payload: {
        serviceId: service,
        staffId: gw.company.staffIds[0],
        start: '2027-04-31T10:00:00+02:00',
        timeZone: 'Europe/Berlin',
      },
    });
    expect(hold.statusCode, hold.body).toBe(400);
    expect(hold.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'start' } });
  });

  it('asks for a zone by name: a fixed offset is refused', async () => {
    const res = await book({ timeZone: '+01:00', customer: { name: 'Offset', email: 'offset@example.org' } });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'INVALID_TIMEZONE', details: { field: 'timeZone' } });
    expect(await appointmentsOf('offset@example.org')).toBe(0);
  });
});

describe('text that cannot be stored', () => {
  it('refuses a NUL character or an unpaired surrogate naming the field, storing nothing', async () => {
    const name = await book({ customer: { name: 'Ja\u0000ne', email: 'nul-name@example.org' } });
    expect(name.statusCode, name.body).toBe(400);
    expect(name.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'body.customer.name' },
    });
    expect(name.json().error.message).toContain(
      'body.customer.name: contains a character that cannot be stored',
    );
    expect(name.body).not.toContain('Ja');

    const key = await book({ metadata: { 'no\u0000te': 'x' } });
    expect(key.json().error.details).toEqual({ field: 'body.metadata.no\u0000te' });

    // Raw JSON text: an escaped lone surrogate, which the driver would store as U+FFFD.
    const raw = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: { ...auth(gw.company.token), 'content-type': 'application/json' },
      payload: `{"serviceId":"${gw.company.serviceIds[0]}","start":"${berlin(testDay(), '11:00')}","timeZone":"Europe/Berlin","notes":"ok \\ud800","customer":{"name":"Surrogate","email":"surrogate@example.org"}}`,
    });
    expect(raw.statusCode, raw.body).toBe(400);
    expect(raw.json().error.details).toEqual({ field: 'body.notes' });
    expect(await appointmentsOf('nul-name@example.org')).toBe(0);
    expect(await appointmentsOf('surrogate@example.org')).toBe(0);
  });

  it('names the part of the URL that holds a NUL character', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/bookings/apt_%00x',
      headers: auth(gw.company.token),
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'params.id' } });
  });
});

describe('the operator API', () => {
  const scope = (companyId: string, payload: object) =>
    gw.app.inject({
      method: 'POST',
      url: `/api/admin/v1/companies/${companyId}/scope`,
      headers: operator,
      payload,
    });

  it('changes a scope all at once or not at all', async () => {
    const created = await gw.app.inject({
      method: 'POST',
      url: '/api/admin/v1/companies',
      headers: operator,
      payload: { name: 'Scope Atomic', timeZone: 'Europe/Berlin' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const companyId = created.json().company.id as string;
    expect((await scope(companyId, { assign: [7001] })).statusCode).toBe(200);

    // An id past PostgreSQL's integer: refused naming the list, and 7002 is not assigned either.
    const tooLarge = await scope(companyId, { assign: [7002], unassign: [3_000_000_000] });
    expect(tooLarge.statusCode, tooLarge.body).toBe(400);
    expect(tooLarge.json().error.message).toContain('unassign');
    const both = await scope(companyId, { assign: [7003], unassign: [7003] });
    expect(both.statusCode, both.body).toBe(400);
    expect(both.json().error.message).toBe('assign and unassign both name event type 7003');
    // An id another company owns: refused after the unassign, which is rolled back with it.
    const foreign = await scope(companyId, { assign: [HAIRCUT.alex], unassign: [7001] });
    expect(foreign.statusCode, foreign.body).toBe(409);
    const now = await gw.app.inject({
      method: 'GET',
      url: `/api/admin/v1/companies/${companyId}/scope`,
      headers: operator,
    });
    expect(now.json()).toMatchObject({ kind: 'assigned', eventTypeIds: [7001] });
  });

  it('takes an empty JSON body where the body is optional', async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: `/api/admin/v1/companies/${gw.company.companyId}/tokens`,
      headers: { ...operator, 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ name: 'api' });
  });

  it('answers a body that is not JSON with 415, text/plain too', async () => {
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/api/v2/bookings',
        headers: { ...auth(gw.company.token), 'content-type': type },
        payload: 'serviceId=svc_1',
      });
      expect(res.statusCode, type).toBe(415);
      expect(res.json().error.code, type).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });
});

describe('request log lines', () => {
  it('carry no query string, on a route or not, so no phone or email reaches the log', async () => {
    for (const url of [
      '/api/v2/customers/?phone=%2B4915112345678&email=jane.doe%40example.org',
      '/api/v2/customer?phone=%2B4915112345678',
      '/api/v2/customers?phone=%2B4915112345678',
      `/api/v2/bookings/apt_unknown?email=jane.doe%40example.org`,
    ]) {
      await gw.app.inject({ method: 'GET', url, headers: auth(gw.company.token) });
    }
    const logged = lines.join('');
    expect(logged).toContain('/api/v2/customer');
    expect(logged).not.toContain('4915112345678');
    expect(logged).not.toContain('jane.doe');
  });
});
