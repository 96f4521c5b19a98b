import { PassThrough } from 'node:stream';
import { type AppointmentSource, type AppointmentStatus, appointments, customers, newId } from '@calgate/db';
import { type SeededCompany, seedCompany } from '@calgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, postBooking, startGateway, testDay } from './support/gateway.ts';

// No worker: what is found is what the intake and the fixtures wrote, whatever Cal.com would say.
let gw: Gateway;
let other: SeededCompany;
beforeAll(async () => {
  gw = await startGateway({ worker: false, env: { PHONE_DEFAULT_REGION: 'DE' } });
  other = await seedCompany(gw.database.db, {
    name: 'Other salon',
    staff: [{ name: 'Casey', calcomUserId: 4 }],
    services: [{ name: 'Haircut', segments: [{ name: 'Haircut', durationMinutes: 30, eventTypes: [] }] }],
  });
});
afterAll(async () => {
  await gw.close();
});

const day = testDay();
const pageDay = testDay();

interface Summary {
  id: string;
  status: string;
  serviceId: string;
  source: string;
  start: string;
  staff: { id: string } | null;
  customer: { id: string; email: string | null; phone: string | null };
}

async function find(query: string, token = gw.company.token) {
  const res = await gw.app.inject({ method: 'GET', url: `/api/v2/bookings?${query}`, headers: auth(token) });
  return { status: res.statusCode, body: res.json() };
}
async function ids(query: string, token?: string): Promise<string[]> {
  const { status, body } = await find(query, token);
  expect(status, JSON.stringify(body)).toBe(200);
  return (body.appointments as Summary[]).map((a) => a.id);
}

async function customer(companyId: string, email: string | null, phone: string | null) {
  const id = newId('cus');
  await gw.database.db.insert(customers).values({ id, companyId, name: 'Fixture', email, phone });
  return id;
}

/** An appointment written as the worker or a webhook would leave it. */
async function appointment(input: {
  companyId?: string;
  customerId: string;
  serviceId?: string;
  staffId?: string | null;
  status?: AppointmentStatus;
  source?: AppointmentSource;
  start: string;
  minutes?: number;
}): Promise<string> {
  const id = newId('apt');
  const start = new Date(input.start);
  await gw.database.db.insert(appointments).values({
    id,
    companyId: input.companyId ?? gw.company.companyId,
    serviceId: input.serviceId ?? (gw.company.serviceIds[0] as string),
    customerId: input.customerId,
    staffId: input.staffId === undefined ? (gw.company.staffIds[0] as string) : input.staffId,
    status: input.status ?? 'confirmed',
    source: input.source ?? 'api',
    startsAt: start,
    endsAt: new Date(start.getTime() + (input.minutes ?? 30) * 60_000),
    timezone: 'Europe/Berlin',
  });
  return id;
}

describe('finding appointments with filters', () => {
  const made: Record<string, string> = {};
  let priyaId = '';

  beforeAll(async () => {
    // Through the API: the customer's phone is stored in E.164 whatever its spelling.
    const res = await postBooking(gw, {
      start: berlin(day, '10:00'),
      staffId: gw.company.staffIds[0],
      customer: { name: 'Priya', email: 'Priya@Example.org', phone: '0151 1111 2222' },
    });
    expect(res.statusCode).toBe(202);
    made.priya = res.json().id;
    priyaId = res.json().customer.id;
    expect(res.json().customer.phone).toBe('+4915111112222');

    const jo = await customer(gw.company.companyId, 'jo@example.org', '+4915133334444');
    made.joConfirmed = await appointment({ customerId: jo, start: berlin(day, '11:00') });
    made.joCancelled = await appointment({
      customerId: jo,
      status: 'cancelled',
      start: berlin(day, '12:00'),
    });
    made.joCalcom = await appointment({
      customerId: jo,
      source: 'calcom',
      staffId: gw.company.staffIds[1] as string,
      start: berlin(day, '13:00'),
    });
    made.joComposite = await appointment({
      customerId: jo,
      serviceId: gw.company.serviceIds[1] as string,
      status: 'pending',
      start: berlin(day, '14:00'),
      minutes: 120,
    });
  });

  it('finds a customer by email, whatever its case', async () => {
    expect(await ids('customerEmail=priya%40example.ORG')).toEqual([made.priya]);
  });

  it('finds a customer by phone in any spelling of the number', async () => {
    for (const spelling of ['+4915111112222', '0151 1111 2222', '0049 151 11112222', '+49 (151) 1111-2222']) {
      expect(await ids(`customerPhone=${encodeURIComponent(spelling)}`), spelling).toEqual([made.priya]);
    }
    expect(await ids('customerPhone=%2B4915199999999')).toEqual([]);
  });

  it('filters by one or several statuses', async () => {
    const all = `from=${encodeURIComponent(berlin(day, '00:00'))}&to=${encodeURIComponent(berlin(day, '23:59'))}`;
    expect(await ids(`${all}&status=cancelled`)).toEqual([made.joCancelled]);
    expect(await ids(`${all}&status=pending&status=cancelled`)).toEqual([
      made.priya,
      made.joCancelled,
      made.joComposite,
    ]);
  });

  it('filters by service, staff and source', async () => {
    const all = `from=${encodeURIComponent(berlin(day, '00:00'))}&to=${encodeURIComponent(berlin(day, '23:59'))}`;
    expect(await ids(`${all}&serviceId=${gw.company.serviceIds[1]}`)).toEqual([made.joComposite]);
    expect(await ids(`${all}&staffId=${gw.company.staffIds[1]}`)).toEqual([made.joCalcom]);
    expect(await ids(`${all}&source=calcom`)).toEqual([made.joCalcom]);
    expect(await ids(`${all}&customerEmail=jo%40example.org&status=confirmed`)).toEqual([
      made.joConfirmed,
      made.joCalcom,
    ]);
  });

  it('finds the appointments that overlap the window, end exclusive', async () => {
    const window = (from: string, to: string) =>
      ids(`from=${encodeURIComponent(berlin(day, from))}&to=${encodeURIComponent(berlin(day, to))}`);
    expect(await window('10:15', '10:20')).toEqual([made.priya]);
    expect(await window('09:00', '10:00')).toEqual([]);
    expect(await window('10:30', '11:00')).toEqual([]);
    // The composite appointment runs 14:00-16:00: a window inside it finds it.
    expect(await window('15:00', '15:05')).toEqual([made.joComposite]);
  });

  it('answers each appointment with its customer, staff and times in its zone, without history', async () => {
    const { body } = await find('customerEmail=priya%40example.org');
    const [found] = body.appointments;
    expect(found).toMatchObject({
      id: made.priya,
      status: 'pending',
      customer: { id: priyaId, email: 'Priya@Example.org', phone: '+4915111112222' },
      staff: { id: gw.company.staffIds[0], name: 'Alex' },
      source: 'api',
    });
    expect(found.start).toBe(berlin(day, '10:00'));
    expect(found.history).toBeUndefined();
    expect(body.nextCursor).toBeNull();
  });
});

describe('validation names the field', () => {
  const cases: Array<[string, string]> = [
    ['limit=101', 'limit'],
    ['limit=0', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    ['status=booked', 'status'],
    ['source=fax', 'source'],
    ['from=yesterday', 'from'],
    ['customerPhone=12', 'customerPhone'],
    ['customerPhone=%2B49123', 'customerPhone'],
    ['customer_email=a%40b.c', 'customer_email'],
  ];
  it.each(cases)('%s -> 400 naming %s', async (query, field) => {
    const { status, body } = await find(query);
    expect(status).toBe(400);
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.message).toContain(field);
  });

  it('refuses a window whose from is after its to', async () => {
    const { status, body } = await find(
      `from=${encodeURIComponent(berlin(day, '12:00'))}&to=${encodeURIComponent(berlin(day, '11:00'))}`,
    );
    expect(status).toBe(400);
    expect(body.error.details.field).toBe('from');
  });
});

describe('cursor pagination', () => {
  it('pages in (start, id) order with no duplicates or gaps while bookings arrive', async () => {
    const pager = await customer(gw.company.companyId, 'pager@example.org', null);
    const times = ['09:00', '09:00', '09:00', '09:30', '10:00', '10:00', '11:00', '12:00', '15:00', '17:00'];
    const present: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const hhmm of times)
        present.push(await appointment({ customerId: pager, start: berlin(pageDay, hhmm) }));
    }
    const query = `customerEmail=pager%40example.org&limit=4`;
    const seen: Summary[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let arrived = 0;
    do {
      const { status, body } = await find(cursor === null ? query : `${query}&cursor=${cursor}`);
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.appointments.length).toBeLessThanOrEqual(4);
      seen.push(...body.appointments);
      cursor = body.nextCursor;
      pages++;
      // New bookings land between pages: before the cursor (never shown), at the cursor's time and later.
      for (const hhmm of ['09:00', '10:00', '17:30']) {
        await appointment({ customerId: pager, start: berlin(pageDay, hhmm) });
        arrived++;
      }
    } while (cursor !== null && pages < 50);
    expect(cursor).toBeNull();
    const seenIds = seen.map((a) => a.id);
    expect(new Set(seenIds).size).toBe(seenIds.length);
    for (const id of present) expect(seenIds).toContain(id);
    const order = seen.map((a) => `${new Date(a.start).toISOString()} ${a.id}`);
    expect(order).toEqual([...order].sort());
    expect(arrived).toBeGreaterThan(0);
  });

  it('refuses a cursor with other filters than the query it came from', async () => {
    const first = await find('customerEmail=pager%40example.org&limit=2');
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const { status, body } = await find(`customerEmail=jo%40example.org&cursor=${first.body.nextCursor}`);
    expect(status).toBe(400);
    expect(body.error.details.field).toBe('cursor');
    // The same filters with another page size are the same query.
    expect(
      (await find(`customerEmail=pager%40example.org&limit=3&cursor=${first.body.nextCursor}`)).status,
    ).toBe(200);
  });
});

describe('company scoping', () => {
  it('never finds another company’s appointments, even for the same customer', async () => {
    const shared = await customer(other.companyId, 'priya@example.org', '+4915111112222');
    const theirs = await appointment({
      companyId: other.companyId,
      customerId: shared,
      serviceId: other.serviceIds[0] as string,
      staffId: other.staffIds[0] as string,
      start: berlin(day, '10:00'),
    });
    const window = `from=${encodeURIComponent(berlin(day, '00:00'))}&to=${encodeURIComponent(berlin(day, '23:59'))}`;
    for (const query of ['customerEmail=priya%40example.org', 'customerPhone=%2B4915111112222', window]) {
      expect(await ids(query, other.token)).toEqual([theirs]);
      expect(await ids(query)).not.toContain(theirs);
    }
    const customersOfOther = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/customers?phone=%2B4915111112222',
      headers: auth(other.token),
    });
    expect(customersOfOther.json().customers.map((c: { id: string }) => c.id)).toEqual([shared]);
    expect(customersOfOther.json().customers[0].upcoming.map((a: { id: string }) => a.id)).toEqual([theirs]);
  });
});

describe('GET /api/v2/customers', () => {
  it('finds a customer by any spelling of the phone with the upcoming appointments only', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/customers?phone=${encodeURIComponent('0151 3333 4444')}`,
      headers: auth(gw.company.token),
    });
    expect(res.statusCode).toBe(200);
    const [jo] = res.json().customers;
    expect(jo).toMatchObject({ email: 'jo@example.org', phone: '+4915133334444' });
    // Confirmed, made in Cal.com and pending are upcoming; the cancelled one is not.
    expect(jo.upcoming.map((a: Summary) => a.status)).toEqual(['confirmed', 'confirmed', 'pending']);
  });

  it('reads a + sent unencoded in the query string (a space by then) as the +', async () => {
    // `?phone=+4915133334444` by hand: the query parser makes the + a space, and with a default
    // region of DE the digits alone would be a different German number.
    for (const url of [
      '/api/v2/customers?phone=+4915133334444',
      '/api/v2/bookings?customerPhone=+4915133334444',
    ]) {
      const res = await gw.app.inject({ method: 'GET', url, headers: auth(gw.company.token) });
      expect(res.statusCode, url).toBe(200);
      const found = url.includes('customers') ? res.json().customers : res.json().appointments;
      expect(found.length, url).toBeGreaterThan(0);
    }
  });

  it('finds by email, case-insensitively', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/customers?email=PRIYA%40example.org',
      headers: auth(gw.company.token),
    });
    expect(res.json().customers.map((c: { phone: string }) => c.phone)).toEqual(['+4915111112222']);
  });

  it('wants exactly one of phone and email', async () => {
    for (const query of ['', '?phone=%2B4915133334444&email=jo%40example.org']) {
      const res = await gw.app.inject({
        method: 'GET',
        url: `/api/v2/customers${query}`,
        headers: auth(gw.company.token),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/phone|email/);
    }
  });
});

describe('the OpenAPI page', () => {
  it('documents the lookups with their filters', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const list = doc.paths['/api/v2/bookings'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining([
        'customerEmail',
        'customerPhone',
        'status',
        'serviceId',
        'staffId',
        'from',
        'to',
        'source',
        'limit',
        'cursor',
      ]),
    );
    expect(doc.paths['/api/v2/customers'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['phone', 'email']),
    );
  });
});

describe('the logs', () => {
  it('never show the email or phone a caller looked up', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const logged = await startGateway({
      worker: false,
      env: { LOG_LEVEL: 'debug', PHONE_DEFAULT_REGION: 'DE' },
      logDestination: stream,
    });
    try {
      for (const url of [
        '/api/v2/bookings?customerPhone=%2B4915155556666&customerEmail=secret.person%40example.org',
        '/api/v2/bookings?customerPhone=%2B4915155556666&limit=1000',
        '/api/v2/customers?phone=0151%205555%206666',
        '/api/v2/customers?email=secret.person%40example.org',
      ]) {
        const res = await logged.app.inject({ method: 'GET', url, headers: auth(logged.company.token) });
        expect(res.statusCode).toBeLessThan(500);
      }
    } finally {
      await logged.close();
    }
    const text = lines.join('');
    expect(text).toContain('/api/v2/bookings');
    // Every key and text value of every line: a number the logger wrote (a response time such as
    // 0.9279590000005555, a timestamp) may hold the digits 5555 by chance and is not what a caller sent.
    const texts = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => textsOf(JSON.parse(line)));
    // The requests were logged (their paths are there), only without what identifies the person.
    expect(texts.filter((value) => value.startsWith('/api/v2/bookings')).length).toBeGreaterThanOrEqual(2);
    for (const secret of ['secret.person', '4915155556666', '5555']) {
      expect(texts.filter((value) => value.includes(secret))).toEqual([]);
    }
  });
});

/** The keys and text values of a parsed log line, nested ones included. */
function textsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(textsOf);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, inner]) => [key, ...textsOf(inner)]);
  }
  return [];
}
