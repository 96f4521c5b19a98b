import { Writable } from 'node:stream';
import { signCalcomPayload } from '@calgate/calcom';
import {
  apiTokens,
  appointments,
  companies,
  customers,
  encryptSecret,
  eventTypeMappings,
  webhookInbox,
} from '@calgate/db';
import { reconcileBookings, syncEventTypes } from '@calgate/domain';
import { DEMO_API_KEY } from '@calgate/sandbox';
import { seedCompany } from '@calgate/testkit';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  berlin,
  eventually,
  type Gateway,
  HAIRCUT,
  startGateway,
  testDay,
} from '../support/gateway.ts';
import { report } from './support.ts';

const WEBHOOK_SECRET = 'test-webhook-secret-123';
const B_WEBHOOK_SECRET = 'company-b-own-secret-0123456789';
const ADMIN = { ADMIN_USERNAME: 'operator', ADMIN_PASSWORD: 'operator-password-42' };

const lines: string[] = [];
const capture = new Writable({
  write(chunk, _encoding, done) {
    lines.push(chunk.toString('utf8'));
    done();
  },
});
const bodies: string[] = [];

let gw: Gateway;
let b: { companyId: string; token: string; serviceIds: string[]; staffIds: string[] };
beforeAll(async () => {
  gw = await startGateway({
    env: { CALCOM_DEBUG: 'true', LOG_LEVEL: 'debug', ...ADMIN },
    logDestination: capture,
  });
  const key = Buffer.from(gw.config.secretsEncryptionKey, 'hex');
  b = await seedCompany(gw.database.db, {
    name: 'Company B',
    calcomApiKey: DEMO_API_KEY,
    encryptionKey: key,
    staff: [{ name: 'Billie', calcomUserId: 3 }],
    services: [
      {
        name: 'B haircut',
        segments: [
          { name: 'Cut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: HAIRCUT.billie }] },
        ],
      },
    ],
  });
  await gw.database.db
    .update(companies)
    .set({ calcomWebhookSecretEncrypted: encryptSecret(B_WEBHOOK_SECRET, key) })
    .where(eq(companies.id, b.companyId));
});
afterAll(async () => {
  await gw.close();
});

async function call(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  payload?: unknown,
) {
  const res = await gw.app.inject({
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  bodies.push(res.body);
  return res;
}

type Call = () => Promise<{ statusCode: number; body: string }>;

/** Every route company A's token could use to reach another company's service, staff or booking. */
function isolationMatrix(
  other: { serviceIds: string[]; staffIds: string[] },
  otherBookingId: string,
  day: string,
): Array<[string, Call, number]> {
  const a = (extra: Record<string, string> = {}) => auth(gw.company.token, extra);
  const matrix: Array<[string, Call, number]> = [
    [
      'GET availability of the other service',
      () =>
        call(
          'GET',
          `/api/v2/services/${other.serviceIds[0]}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
          a(),
        ),
      404,
    ],
    [
      'POST booking on the other service',
      () =>
        call('POST', '/api/v2/bookings', a(), {
          serviceId: other.serviceIds[0],
          start: berlin(day, '11:00'),
          timeZone: 'Europe/Berlin',
          customer: { name: 'A', email: 'a@example.org' },
        }),
      404,
    ],
    [
      'POST booking with the other staff',
      () =>
        call('POST', '/api/v2/bookings', a(), {
          serviceId: gw.company.serviceIds[0],
          staffId: other.staffIds[0],
          start: berlin(day, '11:00'),
          timeZone: 'Europe/Berlin',
          customer: { name: 'A', email: 'a@example.org' },
        }),
      404,
    ],
    ['GET the other booking', () => call('GET', `/api/v2/bookings/${otherBookingId}`, a()), 404],
    [
      'PATCH the other booking',
      () =>
        call('PATCH', `/api/v2/bookings/${otherBookingId}`, a({ prefer: 'wait=5' }), {
          start: berlin(day, '14:00'),
          timeZone: 'Europe/Berlin',
        }),
      404,
    ],
    [
      'DELETE the other booking',
      () =>
        call('DELETE', `/api/v2/bookings/${otherBookingId}`, a({ prefer: 'wait=5' }), {
          cancellationReason: 'not yours',
        }),
      404,
    ],
  ];
  return matrix;
}

describe('scenario 7: tenant isolation', () => {
  it("company A's token reaches nothing of company B, and changes nothing", async () => {
    const day = testDay();
    const bBooking = await call(
      'POST',
      '/api/v2/bookings',
      auth(b.token, { prefer: 'wait=20', 'idempotency-key': 'shared-key' }),
      {
        serviceId: b.serviceIds[0],
        start: berlin(day, '10:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Bee', email: 'bee@example.org' },
      },
    );
    expect(bBooking.statusCode).toBe(201);
    const bId = bBooking.json().id as string;
    const [before] = await gw.database.db.select().from(appointments).where(eq(appointments.id, bId));
    const a = (extra: Record<string, string> = {}) => auth(gw.company.token, extra);
    const matrix = isolationMatrix(b, bId, day);
    const outcomes: Record<string, number> = {};
    for (const [name, run, expected] of matrix) {
      const res = await run();
      outcomes[name] = res.statusCode;
      expect(res.statusCode, name).toBe(expected);
      expect(JSON.parse(res.body).error.code, name).toMatch(/NOT_FOUND/);
    }
    // The service list shows only A's services.
    const list = await call('GET', '/api/v2/services', a());
    const ids = (list.json().services as Array<{ id: string }>).map((s) => s.id);
    expect(ids.some((id) => b.serviceIds.includes(id))).toBe(false);
    // Idempotency keys belong to a company: A's 'shared-key' is A's own.
    const mine = await call(
      'POST',
      '/api/v2/bookings',
      a({ prefer: 'wait=20', 'idempotency-key': 'shared-key' }),
      {
        serviceId: gw.company.serviceIds[0],
        start: berlin(day, '15:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'A', email: 'a@example.org' },
      },
    );
    expect(mine.statusCode).toBe(201);
    expect(mine.json().id).not.toBe(bId);
    // B's webhook URL only takes B's own secret.
    const body = JSON.stringify({
      triggerEvent: 'BOOKING_CREATED',
      payload: { uid: 'x', startTime: '2026-01-01T09:00:00Z', endTime: '2026-01-01T09:30:00Z' },
    });
    const wrongSecret = await call(
      'POST',
      `/api/webhooks/calcom/${b.companyId}`,
      { 'content-type': 'application/json', 'x-cal-signature-256': signCalcomPayload(body, WEBHOOK_SECRET) },
      body,
    );
    expect(wrongSecret.statusCode).toBe(401);
    // Operators' endpoints need operator credentials, not a company token.
    for (const url of ['/admin/queues', '/metrics']) {
      expect((await call('GET', url, a())).statusCode).toBe(401);
      expect((await call('GET', url, {})).statusCode).toBe(401);
    }
    // Revoked and unknown tokens.
    await gw.database.db
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(eq(apiTokens.companyId, b.companyId));
    await new Promise((resolve) => setTimeout(resolve, 10_500)); // past the token cache
    expect((await call('GET', '/api/v2/services', auth(b.token))).statusCode).toBe(401);
    expect((await call('GET', '/api/v2/services', auth('cgt_unknown'))).statusCode).toBe(401);

    const [after] = await gw.database.db.select().from(appointments).where(eq(appointments.id, bId));
    expect(after).toEqual(before);
    const bCalcom = gw.sandbox.control.bookings().filter((x) => x.metadata.calgateId === bId);
    expect(bCalcom.map((x) => x.status)).toEqual(['accepted']);
    report('tenant-isolation', { routes: matrix.length + 5, outcomes, bAppointmentUnchanged: true });
  }, 60_000);
});

describe('scenario 7b: tenant isolation on a shared Cal.com account', () => {
  it("a company sharing A's Cal.com account reaches, imports, reconciles and receives nothing of A's", async () => {
    const day = testDay();
    // S shares the env default account with A and owns one event type of it (Casey's haircut).
    const s = await seedCompany(gw.database.db, {
      name: 'Shared S',
      staff: [{ name: 'Casey', calcomUserId: 4 }],
      services: [
        {
          name: 'S cut',
          segments: [{ name: 'Cut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: 104 }] }],
        },
      ],
    });
    const own = await call('POST', '/api/v2/bookings', auth(s.token, { prefer: 'wait=20' }), {
      serviceId: s.serviceIds[0],
      start: berlin(day, '10:00'),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Sam', email: 'sam@example.org' },
    });
    expect(own.statusCode).toBe(201);
    const matrix = isolationMatrix(s, own.json().id as string, day);
    const outcomes: Record<string, number> = {};
    for (const [name, run, expected] of matrix) {
      const res = await run();
      outcomes[name] = res.statusCode;
      expect(res.statusCode, name).toBe(expected);
    }
    // Its sync imports only its own event type, although the key sees every one of the account.
    await syncEventTypes(gw.runtime(), s.companyId);
    const mapped = await gw.database.db
      .select({ id: eventTypeMappings.calcomEventTypeId })
      .from(eventTypeMappings)
      .where(and(eq(eventTypeMappings.companyId, s.companyId), isNull(eventTypeMappings.deletedAt)));
    expect(mapped.map((m) => m.id)).toEqual([104]);
    // A booking of A's made in Cal.com: S's reconciliation (run first) leaves it to A.
    const aDirect = gw.sandbox.control.createBookingDirect({
      eventTypeId: HAIRCUT.alex,
      start: berlin(day, '15:00'),
      attendee: { name: 'Alma', email: 'alma@example.org', timeZone: 'Europe/Berlin' },
    });
    await reconcileBookings(gw.runtime(), s.companyId);
    await reconcileBookings(gw.runtime(), gw.company.companyId);
    const [recorded] = await gw.database.db
      .select()
      .from(appointments)
      .where(eq(appointments.calcomBookingUid, aDirect.uid));
    expect(recorded?.companyId).toBe(gw.company.companyId);
    const sCustomers = await gw.database.db
      .select()
      .from(customers)
      .where(eq(customers.companyId, s.companyId));
    expect(sCustomers.map((c) => c.email)).toEqual(['sam@example.org']);
    // A delivery of S's event type naming A's appointment in its metadata is applied in S's scope only.
    const aBooked = await call('POST', '/api/v2/bookings', auth(gw.company.token, { prefer: 'wait=20' }), {
      serviceId: gw.company.serviceIds[0],
      start: berlin(day, '11:00'),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Abe', email: 'abe@example.org' },
    });
    expect(aBooked.statusCode).toBe(201);
    const aId = aBooked.json().id as string;
    const [aBefore] = await gw.database.db.select().from(appointments).where(eq(appointments.id, aId));
    const forged = JSON.stringify({
      triggerEvent: 'BOOKING_CANCELLED',
      createdAt: new Date().toISOString(),
      payload: {
        uid: `shared-forged-${s.companyId}`,
        eventTypeId: 104,
        startTime: berlin(day, '16:00'),
        endTime: berlin(day, '16:30'),
        iCalSequence: 99,
        attendees: [{ name: 'M', email: 'm@example.org', timeZone: 'Europe/Berlin' }],
        metadata: { calgateId: aId },
      },
    });
    const delivered = await call(
      'POST',
      '/api/webhooks/calcom',
      {
        'content-type': 'application/json',
        'x-cal-signature-256': signCalcomPayload(forged, WEBHOOK_SECRET),
      },
      forged,
    );
    expect(delivered.statusCode).toBe(200);
    const row = await eventually(async () => {
      const [r] = await gw.database.db
        .select()
        .from(webhookInbox)
        .where(eq(webhookInbox.id, delivered.json().id));
      return r?.status === 'processed' || r?.status === 'ignored' ? r : undefined;
    }, 30_000);
    expect(row.companyId).toBe(s.companyId);
    const [aAfter] = await gw.database.db.select().from(appointments).where(eq(appointments.id, aId));
    expect(aAfter).toEqual(aBefore);
    // It was matched to nothing of A's: S records it as a booking of its own.
    const [ofS] = await gw.database.db
      .select()
      .from(appointments)
      .where(eq(appointments.calcomBookingUid, `shared-forged-${s.companyId}`));
    expect(ofS?.companyId).toBe(s.companyId);
    report('tenant-isolation-shared-account', {
      routes: matrix.length,
      outcomes,
      importedEventTypes: mapped.length,
      otherCompanysBookingStayedWithIt: true,
    });
  }, 90_000);
});

describe('scenario 8: secrets', () => {
  it('never appear in logs or error bodies with CALCOM_DEBUG=true, and are not stored in plain text', async () => {
    const day = testDay();
    const booked = await call('POST', '/api/v2/bookings', auth(gw.company.token, { prefer: 'wait=20' }), {
      serviceId: gw.company.serviceIds[0],
      start: berlin(day, '09:00'),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Sec Ret', email: 'secret@example.org', phone: '+4915112345678' },
    });
    expect(booked.statusCode).toBe(201);
    const id = booked.json().id as string;
    await call('PATCH', `/api/v2/bookings/${id}`, auth(gw.company.token, { prefer: 'wait=20' }), {
      start: berlin(day, '10:00'),
      timeZone: 'Europe/Berlin',
    });
    await call('DELETE', `/api/v2/bookings/${id}`, auth(gw.company.token, { prefer: 'wait=20' }), {
      cancellationReason: 'test',
    });
    // Cal.com rejects the key: the error says so without the key.
    gw.sandbox.control.injectFault({ operation: 'bookings.create', status: 401, count: 5 });
    const rejected = await call('POST', '/api/v2/bookings', auth(gw.company.token, { prefer: 'wait=20' }), {
      serviceId: gw.company.serviceIds[0],
      start: berlin(day, '11:00'),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Sec Ret', email: 'secret@example.org' },
    });
    expect(rejected.statusCode).toBe(502);
    gw.sandbox.control.clearFaults();
    const webhook = JSON.stringify({ triggerEvent: 'BOOKING_PAID', payload: {} });
    await call(
      'POST',
      '/api/webhooks/calcom',
      {
        'content-type': 'application/json',
        'x-cal-signature-256': signCalcomPayload(webhook, WEBHOOK_SECRET),
      },
      webhook,
    );
    await call(
      'POST',
      '/api/webhooks/calcom',
      { 'content-type': 'application/json', 'x-cal-signature-256': 'f'.repeat(64) },
      webhook,
    );
    await call('GET', '/metrics', {
      authorization: `Basic ${Buffer.from(`operator:${ADMIN.ADMIN_PASSWORD}`).toString('base64')}`,
    });
    await call('GET', '/api/v2/services', auth(`${gw.company.token}x`));
    await new Promise((resolve) => setTimeout(resolve, 500));

    const secrets = {
      calcomKey: DEMO_API_KEY,
      webhookSecret: WEBHOOK_SECRET,
      companyWebhookSecret: B_WEBHOOK_SECRET,
      apiToken: gw.company.token,
      adminPassword: ADMIN.ADMIN_PASSWORD,
      encryptionKey: gw.config.secretsEncryptionKey,
    };
    const logText = lines.join('');
    const bodyText = bodies.join('\n');
    // The debug log did record the Cal.com traffic (so the check below means something).
    expect(logText).toContain('bookings.create');
    expect(lines.length).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const [name, value] of Object.entries(secrets)) {
      if (logText.includes(value)) leaks.push(`${name} in logs`);
      if (bodyText.includes(value)) leaks.push(`${name} in bodies`);
    }
    // Emails and phones are redacted from the debug bodies too.
    if (logText.includes('+4915112345678')) leaks.push('phone in logs');
    // So are customers' emails and names, in every line (LOG_PERSONAL_DATA is off): the booking's
    // customer above and the attendee of the forged delivery of scenario 7b.
    for (const [what, value] of [
      ['customer email', 'secret@example.org'],
      ['customer name', 'Sec Ret'],
      ['attendee email', 'm@example.org'],
    ]) {
      if (logText.includes(value as string)) leaks.push(`${what} in logs`);
    }
    const [stored] = await gw.database.db.select().from(companies).where(eq(companies.id, b.companyId));
    const storedText = JSON.stringify(stored);
    if (storedText.includes(DEMO_API_KEY)) leaks.push('Cal.com key stored in plain text');
    if (storedText.includes(B_WEBHOOK_SECRET)) leaks.push('webhook secret stored in plain text');
    const tokens = await gw.database.db.select().from(apiTokens);
    if (JSON.stringify(tokens).includes(gw.company.token)) leaks.push('API token stored in plain text');
    report('secrets', {
      logLines: lines.length,
      errorBodies: bodies.length,
      secretsChecked: Object.keys(secrets).length,
      leaks,
    });
    expect(leaks).toEqual([]);
  });
});
