import { registerWebhooksNow } from '@calgate/cli/operations';
import { endpointCreate, endpointRotateSecret } from '@calgate/cli/outbound';
import { outboundEndpoints } from '@calgate/db';
import {
  createEndpoint,
  isPrivateAddress,
  listDeliveries,
  postWebhook,
  signWebhook,
  verifyWebhook,
} from '@calgate/domain';
import { seedCompany } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from './support/gateway.ts';
import { deliveriesOf, OUTBOUND_ENV, operatorAuth, registerEndpoint } from './support/outbound.ts';
import { type ReceivedWebhook, type Receiver, startReceiver, typesOf } from './support/receiver.ts';

// The Standard Webhooks reference test vector (the specification's JavaScript library tests).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('Standard Webhooks signatures', () => {
  const headers = (signature: string, timestamp = String(VECTOR.timestamp)) => ({
    'webhook-id': VECTOR.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signature,
  });

  it('signs the reference vector to the reference signature', () => {
    expect(signWebhook(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('verifies the reference vector and refuses every tampered variant', () => {
    const now = VECTOR.timestamp + 10;
    expect(verifyWebhook(VECTOR.secret, headers(VECTOR.signature), VECTOR.body, { now })).toBe(true);
    // Several signatures (a secret rotation): one matching is enough.
    const several = `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${VECTOR.signature}`;
    expect(verifyWebhook(VECTOR.secret, headers(several), VECTOR.body, { now })).toBe(true);
    expect(verifyWebhook(VECTOR.secret, headers(VECTOR.signature), '{"test": 2432232315}', { now })).toBe(
      false,
    );
    expect(verifyWebhook(VECTOR.secret, headers('v1,'), VECTOR.body, { now })).toBe(false);
    expect(
      verifyWebhook(VECTOR.secret, headers(`v2,${VECTOR.signature.slice(3)}`), VECTOR.body, { now }),
    ).toBe(false);
    expect(
      verifyWebhook('whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB', headers(VECTOR.signature), VECTOR.body, {
        now,
      }),
    ).toBe(false);
    // Outside the five-minute tolerance on either side.
    expect(
      verifyWebhook(VECTOR.secret, headers(VECTOR.signature), VECTOR.body, { now: VECTOR.timestamp + 301 }),
    ).toBe(false);
    expect(
      verifyWebhook(VECTOR.secret, headers(VECTOR.signature), VECTOR.body, { now: VECTOR.timestamp - 301 }),
    ).toBe(false);
    const { 'webhook-id': _, ...withoutId } = headers(VECTOR.signature);
    expect(verifyWebhook(VECTOR.secret, withoutId, VECTOR.body, { now })).toBe(false);
  });
});

let gw: Gateway;
let receiver: Receiver;
let endpoint: { id: string; secret: string };
beforeAll(async () => {
  gw = await startGateway({
    listen: true,
    env: { ...OUTBOUND_ENV, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '200ms,400ms,800ms' },
  });
  receiver = await startReceiver();
  endpoint = await registerEndpoint(gw, receiver.url, { description: 'CRM' });
  // Cal.com (the sandbox) delivers its webhooks to the gateway once subscribed.
  expect(await registerWebhooksNow({ runtime: gw.runtime(), out: () => undefined })).toBe(0);
}, 30_000);
afterAll(async () => {
  await receiver?.close();
  await gw?.close();
});

describe('registering endpoints (admin API)', () => {
  const base = () => `/api/admin/v1/companies/${gw.company.companyId}/webhook-endpoints`;

  it('needs operator credentials', async () => {
    const res = await gw.app.inject({ method: 'GET', url: base() });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });

  it('shows the whsec_ secret once and stores it only encrypted', async () => {
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const [stored] = await gw.database.db
      .select()
      .from(outboundEndpoints)
      .where(eq(outboundEndpoints.id, endpoint.id));
    expect(stored?.secretEncrypted).not.toContain(endpoint.secret.slice(6, 20));
    const list = await gw.app.inject({ method: 'GET', url: base(), headers: operatorAuth() });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(endpoint.secret.slice(6));
    expect(list.json().data[0]).toMatchObject({
      id: endpoint.id,
      url: receiver.url,
      enabled: true,
      events: [],
    });
  });

  it('answers 400 naming the field for an unknown event type or a non-http URL', async () => {
    const events = await gw.app.inject({
      method: 'POST',
      url: base(),
      headers: operatorAuth(),
      payload: { url: receiver.url, events: ['appointment.exploded'] },
    });
    expect(events.statusCode).toBe(400);
    expect(events.json().error.message).toContain('events');
    const scheme = await gw.app.inject({
      method: 'POST',
      url: base(),
      headers: operatorAuth(),
      payload: { url: 'ftp://example.org/hooks' },
    });
    expect(scheme.statusCode).toBe(400);
    expect(scheme.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'url' } });
  });

  it('is documented in the OpenAPI page and available as a CLI command', async () => {
    const spec = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(Object.keys(spec.paths)).toContain('/api/admin/v1/companies/{companyId}/webhook-endpoints');
    const lines: string[] = [];
    const id = await endpointCreate(
      { runtime: gw.runtime(), out: (l: string) => lines.push(l) },
      gw.company.companyId,
      {
        url: receiver.url,
        events: 'appointment.cancelled,appointment.failed',
        description: 'from the CLI',
      },
    );
    expect(lines.join('\n')).toMatch(/signing secret \(shown once, store it now\): whsec_/);
    const deleted = await gw.app.inject({
      method: 'DELETE',
      url: `${base()}/${id}`,
      headers: operatorAuth(),
    });
    expect(deleted.statusCode).toBe(204);
  });

  it("never shows or changes another company's endpoint", async () => {
    const other = await seedCompany(gw.database.db, { name: 'Other salon' });
    const res = await gw.app.inject({
      method: 'PATCH',
      url: `/api/admin/v1/companies/${other.companyId}/webhook-endpoints/${endpoint.id}`,
      headers: operatorAuth(),
      payload: { enabled: false },
    });
    expect(res.statusCode).toBe(404);
    const list = await gw.app.inject({
      method: 'GET',
      url: `/api/admin/v1/companies/${other.companyId}/webhook-endpoints`,
      headers: operatorAuth(),
    });
    expect(list.json().data).toEqual([]);
  });
});

describe('private addresses', () => {
  const strict = () => ({
    ...gw.runtime(),
    config: { ...gw.config, outbound: { ...gw.config.outbound, allowPrivate: false } },
  });

  it.each([
    'http://127.0.0.1:9/hooks',
    'http://localhost/hooks',
    'http://10.1.2.3/hooks',
    'http://192.168.0.10/hooks',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/hooks',
    'http://[::ffff:127.0.0.1]/hooks',
    'http://[fd00::1]/hooks',
    'http://[::a9fe:a9fe]/',
    'http://[64:ff9b:1::a9fe:a9fe]/',
    'http://[2002:a9fe:a9fe::1]/',
    'http://[fec0::1]/',
    'http://192.88.99.1/',
  ])('refuses %s unless an operator allows private addresses', async (url) => {
    await expect(createEndpoint(strict(), gw.company.companyId, { url })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'url' },
    });
  });

  it('refuses a private address again at delivery time, before connecting', async () => {
    const before = receiver.arrivals();
    const literal = await postWebhook(receiver.url, {}, '{}', { timeoutMs: 5_000, allowPrivate: false });
    expect(literal).toMatchObject({ statusCode: null, error: 'EPRIVATEADDRESS' });
    // A name is resolved, and the address it resolves to is the one checked.
    const named = await postWebhook(receiver.url.replace('127.0.0.1', 'localhost'), {}, '{}', {
      timeoutMs: 5_000,
      allowPrivate: false,
    });
    expect(named).toMatchObject({ statusCode: null, error: 'EPRIVATEADDRESS' });
    expect(receiver.arrivals()).toBe(before);
    const allowed = await postWebhook(receiver.url, {}, '{"type":"x","data":{"id":"apt_x"}}', {
      timeoutMs: 5_000,
      allowPrivate: true,
    });
    expect(allowed.statusCode).toBe(200);
  });

  it('tells public from private addresses', () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '172.31.255.255',
      '100.64.0.1',
      '::1',
      'fe80::1',
      '::ffff:7f00:1',
    ])
      expect(isPrivateAddress(address)).toBe(true);
    for (const address of ['93.184.216.34', '172.32.0.1', '2606:4700::1111', '::ffff:93.184.216.34'])
      expect(isPrivateAddress(address)).toBe(false);
  });

  it('refuses special-purpose IPv6 (all outside global unicast) and the 6to4 relay anycast', () => {
    // 169.254.169.254 (cloud metadata) IPv4-compatible (::/96), behind a local NAT64 prefix
    // (64:ff9b:1::/48), as 6to4 (2002::/16) and as Teredo (2001::/32, in 2001::/23).
    const special = [
      '::a9fe:a9fe',
      '64:ff9b:1::a9fe:a9fe',
      '2002:a9fe:a9fe::1',
      '2001:0:a9fe:a9fe::1',
      '2001:1ff:ffff::1',
      'fec0::1',
      '4000::1',
      '192.88.99.1',
    ];
    expect(special.filter((address) => !isPrivateAddress(address))).toEqual([]);
    const global = ['2001:200::1', '2001:4860:4860::8888', '2a00:1450:4001::1', '3fff:ffff::1'];
    expect(global.filter((address) => isPrivateAddress(address))).toEqual([]);
  });
});

describe('every change of an appointment', () => {
  const book = async (start: string, email: string, staff = 0) => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: {
        serviceId: gw.company.serviceIds[0],
        start,
        timeZone: 'Europe/Berlin',
        staffId: gw.company.staffIds[staff],
        customer: { name: 'Robin Private', email },
        metadata: { crmId: 'crm-1' },
      },
    });
    return res;
  };
  const types = (id: string, count: number) =>
    eventually(
      async () => (typesOf(receiver, id).length >= count ? typesOf(receiver, id) : undefined),
      30_000,
    );

  it('sends confirmed, rescheduled and cancelled, in order, signed, without personal data', async () => {
    const day = testDay();
    const created = await book(berlin(day, '09:00'), 'robin@example.org');
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    const moved = await gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${id}`,
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: { start: berlin(day, '10:00'), timeZone: 'Europe/Berlin' },
    });
    expect(moved.statusCode).toBe(200);
    const cancelled = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v2/bookings/${id}`,
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
    });
    expect(cancelled.statusCode).toBeLessThan(300);
    expect(await types(id, 3)).toEqual([
      'appointment.confirmed',
      'appointment.rescheduled',
      'appointment.cancelled',
    ]);

    const messages = receiver.acknowledged.filter((m) => m.event.data.id === id);
    for (const message of messages) {
      expect(verifyWebhook(endpoint.secret, message.headers, message.body)).toBe(true);
      expect(message.headers['content-type']).toBe('application/json');
      expect(message.body).not.toContain('robin@example.org');
      expect(message.body).not.toContain('Robin Private');
    }
    expect(new Set(messages.map((m) => m.id)).size).toBe(3);
    const [confirmed, rescheduled, gone] = messages.map((m) => m.event);
    expect(confirmed).toMatchObject({
      type: 'appointment.confirmed',
      data: {
        id,
        status: 'confirmed',
        previousStatus: 'pending',
        start: new Date(berlin(day, '09:00')).toISOString(),
        serviceId: gw.company.serviceIds[0],
        staffId: gw.company.staffIds[0],
        metadata: { crmId: 'crm-1' },
        changedBy: 'gateway',
      },
    });
    expect(rescheduled?.data).toMatchObject({
      status: 'confirmed',
      previousStatus: 'rescheduling',
      start: new Date(berlin(day, '10:00')).toISOString(),
    });
    expect(gone?.data).toMatchObject({ status: 'cancelled', previousStatus: 'cancelling' });
    expect(Number.isNaN(Date.parse(confirmed?.timestamp ?? ''))).toBe(false);

    // The receiver answered before the worker recorded the answer: wait for the record.
    const mine = await eventually(async () => {
      const deliveries = (await listDeliveries(gw.runtime(), endpoint.id)).filter(
        (d) => d.appointmentId === id,
      );
      return deliveries.every((d) => d.status === 'delivered') ? deliveries : undefined;
    });
    expect(mine.map((d) => d.eventType)).toEqual([
      'appointment.cancelled',
      'appointment.rescheduled',
      'appointment.confirmed',
    ]);
    expect(mine[2]?.attempts).toHaveLength(1);
    expect(mine[2]?.attempts[0]).toMatchObject({ attempt: 1, statusCode: 200, responseExcerpt: 'ok' });
    expect(mine[2]?.attempts[0]?.latencyMs).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('sends updated for a reschedule made in Cal.com', async () => {
    const day = testDay();
    const created = await book(berlin(day, '11:00'), 'walk-in@example.org', 1);
    const { id, calcom } = created.json();
    gw.sandbox.control.rescheduleBookingDirect(calcom.bookingUid, berlin(day, '15:00'));
    expect(await types(id, 2)).toEqual(['appointment.confirmed', 'appointment.updated']);
    const updated = receiver.acknowledged.find(
      (m) => m.event.data.id === id && m.event.type === 'appointment.updated',
    );
    expect(updated?.event.data).toMatchObject({
      status: 'confirmed',
      start: new Date(berlin(day, '15:00')).toISOString(),
      change: 'rescheduled',
      changedBy: 'calcom',
    });
  }, 60_000);

  it('sends failed when Cal.com refuses the slot', async () => {
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: { statusCode: 400, message: 'User either already has booking at this time or is not available' },
      count: 1,
    });
    const res = await book(berlin(testDay(), '12:00'), 'late@example.org');
    expect(res.statusCode).toBe(409);
    const id = res.json().error.details.appointmentId as string;
    expect(await types(id, 1)).toEqual(['appointment.failed']);
    const failed = receiver.acknowledged.find((m) => m.event.data.id === id);
    expect(failed?.event.data).toMatchObject({ status: 'failed', failureCode: 'SLOT_UNAVAILABLE' });
  }, 60_000);

  it('sends needs_attention when a cancel fails for good', async () => {
    const created = await book(berlin(testDay(), '13:00'), 'stuck@example.org');
    const id = created.json().id as string;
    gw.sandbox.control.injectFault({ operation: 'bookings.cancel', status: 503, count: 1_000 });
    try {
      await gw.app.inject({
        method: 'DELETE',
        url: `/api/v2/bookings/${id}`,
        headers: auth(gw.company.token),
      });
      expect(await types(id, 2)).toEqual(['appointment.confirmed', 'appointment.needs_attention']);
    } finally {
      gw.sandbox.control.clearFaults();
    }
    const flagged = receiver.acknowledged.find((m) => m.event.type === 'appointment.needs_attention');
    expect(flagged?.event.data).toMatchObject({ id, needsAttention: true, status: 'cancelling' });
  }, 60_000);

  it('sends only the subscribed types to an endpoint that chose some', async () => {
    const picky = await startReceiver();
    try {
      await registerEndpoint(gw, picky.url, { events: ['appointment.cancelled'] });
      const created = await book(berlin(testDay(), '14:00'), 'picky@example.org');
      const id = created.json().id as string;
      await gw.app.inject({
        method: 'DELETE',
        url: `/api/v2/bookings/${id}`,
        headers: auth(gw.company.token, { prefer: 'wait=20' }),
      });
      await types(id, 2);
      await eventually(async () => (typesOf(picky, id).length > 0 ? true : undefined), 30_000);
      expect(typesOf(picky, id)).toEqual(['appointment.cancelled']);
    } finally {
      await picky.close();
    }
  }, 60_000);
});

describe("rotating an endpoint's signing secret", () => {
  const endpointUrl = (endpointId: string, companyId = gw.company.companyId) =>
    `/api/admin/v1/companies/${companyId}/webhook-endpoints/${endpointId}`;
  const rotate = (endpointId: string, payload?: Record<string, unknown>, companyId?: string) =>
    gw.app.inject({
      method: 'POST',
      url: `${endpointUrl(endpointId, companyId)}/rotate-secret`,
      headers: operatorAuth(),
      ...(payload === undefined ? {} : { payload }),
    });
  const setEnabled = async (endpointId: string, enabled: boolean) => {
    const res = await gw.app.inject({
      method: 'PATCH',
      url: endpointUrl(endpointId),
      headers: operatorAuth(),
      payload: { enabled },
    });
    expect(res.statusCode).toBe(200);
  };
  const bookOn = async (start: string, email: string): Promise<string> => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: {
        serviceId: gw.company.serviceIds[0],
        start,
        timeZone: 'Europe/Berlin',
        staffId: gw.company.staffIds[0],
        customer: { name: 'Rotation Customer', email },
      },
    });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  };
  const arrived = (r: Receiver, appointmentId: string) =>
    eventually(async () => r.acknowledged.find((m) => m.event.data.id === appointmentId), 30_000);
  const verifiesWith = (secret: string, message: ReceivedWebhook, signature = message.signature) =>
    verifyWebhook(secret, { ...message.headers, 'webhook-signature': signature }, message.body);
  const confirmedOnly = { events: ['appointment.confirmed'] };

  it('signs with the new and the previous secret during the overlap, so either verifies', async () => {
    const r = await startReceiver();
    try {
      const old = await registerEndpoint(gw, r.url, confirmedOnly);
      const res = await rotate(old.id);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const rotated = res.json();
      expect(rotated).toMatchObject({ id: old.id, enabled: true, secret: expect.stringMatching(/^whsec_/) });
      expect(rotated.secret).not.toBe(old.secret);
      // 24 hours by default, on the database's clock (the one the delivery job compares with).
      const [row] = await gw.database.sql`
        select extract(epoch from previous_secret_expires_at - now())::float8 as seconds
        from outbound_endpoints where id = ${old.id}`;
      expect(row?.seconds).toBeGreaterThan(24 * 3600 - 600);
      expect(row?.seconds).toBeLessThanOrEqual(24 * 3600);
      expect(rotated.previousSecretExpiresAt).not.toBeNull();

      const id = await bookOn(berlin(testDay(), '09:00'), 'overlap@example.org');
      const message = await arrived(r, id);
      const [first, second, ...more] = message.signature.split(' ');
      expect(more).toEqual([]);
      expect(verifyWebhook(rotated.secret, message.headers, message.body)).toBe(true);
      expect(verifyWebhook(old.secret, message.headers, message.body)).toBe(true);
      // New first, then the previous one: each verifies alone, whichever a receiver holds.
      expect(verifiesWith(rotated.secret, message, first)).toBe(true);
      expect(verifiesWith(old.secret, message, second)).toBe(true);
      expect(verifiesWith(old.secret, message, first)).toBe(false);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('stops the previous secret at once with an overlap of 0 (the CLI with --overlap-hours 0)', async () => {
    const r = await startReceiver();
    try {
      const first = await registerEndpoint(gw, r.url, confirmedOnly);
      const second = (await rotate(first.id)).json().secret as string;
      const lines: string[] = [];
      const ops = { runtime: gw.runtime(), out: (l: string) => lines.push(l) };
      await expect(endpointRotateSecret(ops, first.id, '169')).rejects.toThrow(/--overlap-hours/);
      await expect(endpointRotateSecret(ops, first.id, '-1')).rejects.toThrow(/--overlap-hours/);
      expect(lines).toEqual([]);
      await endpointRotateSecret(ops, first.id, '0');
      expect(lines).toContain('the previous signing secret no longer signs');
      const third = lines
        .join('\n')
        .match(/new signing secret \(shown once, store it now\): (whsec_\S+)/)?.[1];
      expect(third).toBeDefined();

      const id = await bookOn(berlin(testDay(), '09:00'), 'no-overlap@example.org');
      const message = await arrived(r, id);
      expect(message.signature.split(' ')).toHaveLength(1);
      expect(verifyWebhook(third as string, message.headers, message.body)).toBe(true);
      expect(verifyWebhook(second, message.headers, message.body)).toBe(false);
      expect(verifyWebhook(first.secret, message.headers, message.body)).toBe(false);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('keeps the pending deliveries, which go out signed with the new secret', async () => {
    const r = await startReceiver();
    try {
      const old = await registerEndpoint(gw, r.url, confirmedOnly);
      await setEnabled(old.id, false);
      const id = await bookOn(berlin(testDay(), '09:00'), 'pending@example.org');
      const waiting = await eventually(async () => {
        const deliveries = await deliveriesOf(gw, old.id);
        return deliveries.length === 1 && deliveries[0]?.status === 'pending' ? deliveries : undefined;
      }, 30_000);
      const res = await rotate(old.id, { overlapHours: 0 });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().previousSecretExpiresAt).toBeNull();
      expect((await deliveriesOf(gw, old.id)).map((d) => d.id)).toEqual(waiting.map((d) => d.id));

      await setEnabled(old.id, true);
      const message = await arrived(r, id);
      expect(verifyWebhook(res.json().secret, message.headers, message.body)).toBe(true);
      expect(verifyWebhook(old.secret, message.headers, message.body)).toBe(false);
      const sent = await eventually(async () => {
        const deliveries = await deliveriesOf(gw, old.id);
        return deliveries.every((d) => d.status === 'delivered') ? deliveries : undefined;
      }, 30_000);
      expect(sent.map((d) => d.id)).toEqual(waiting.map((d) => d.id));
    } finally {
      await r.close();
    }
  }, 60_000);

  it("answers 404 naming the endpoint for another company's or an unknown one, 400 for a bad overlap", async () => {
    const [before] = await gw.database.db
      .select()
      .from(outboundEndpoints)
      .where(eq(outboundEndpoints.id, endpoint.id));
    const other = await seedCompany(gw.database.db, { name: 'Rotation other salon' });
    for (const res of [await rotate(endpoint.id, {}, other.companyId), await rotate('owe_unknown')]) {
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatchObject({ code: 'NOT_FOUND', details: { field: 'endpointId' } });
    }
    for (const overlapHours of [-1, 169, 1.5, '24']) {
      const res = await rotate(endpoint.id, { overlapHours });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
      expect(res.json().error.message).toContain('overlapHours');
    }
    expect((await rotate(endpoint.id, { overlap: 1 })).statusCode).toBe(400);
    const [after] = await gw.database.db
      .select()
      .from(outboundEndpoints)
      .where(eq(outboundEndpoints.id, endpoint.id));
    expect(after?.secretEncrypted).toBe(before?.secretEncrypted);
    expect(after?.previousSecretEncrypted).toBeNull();
  });
});
