import {
  companyCreate,
  reconcileNow,
  registerWebhooksNow,
  serviceCreate,
  syncEventTypesNow,
} from '@calgate/cli/operations';
import { appointments, services, syncState } from '@calgate/db';
import { assignEventTypes, setCompanyDisabled } from '@calgate/domain';
import type { SandboxEventType } from '@calgate/sandbox';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  berlin,
  eventually,
  type Gateway,
  type GatewayOptions,
  HAIRCUT,
  startGateway,
  testDay,
} from './support/gateway.ts';

/** Shared by the tests that only add to the sandbox (service creation, reconciliation). */
let gw: Gateway;
const lines: string[] = [];
const ops = (g: Gateway = gw) => ({ runtime: g.runtime(), out: (line: string) => lines.push(line) });

beforeAll(async () => {
  gw = await startGateway({ listen: true });
});
afterAll(async () => {
  await gw.close();
});

/**
 * A gateway with a sandbox of its own, for a test that reads account-wide state (the health
 * probe) or removes event types from the account: other tests' changes cannot reach it.
 */
const own: Gateway[] = [];
async function ownGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const started = await startGateway({
    listen: true,
    worker: false,
    env: { HEALTH_PROBE_TTL_SECONDS: '1' },
    ...options,
  });
  own.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(own.splice(0).map((g) => g.close()));
});

const health = (g: Gateway) => g.app.inject({ method: 'GET', url: '/api/health/calcom' });
const serviceNames = async (g: Gateway = gw) => {
  const res = await g.app.inject({
    method: 'GET',
    url: '/api/v2/services',
    headers: auth(g.company.token),
  });
  return (res.json().services as Array<{ name: string }>).map((s) => s.name);
};
/**
 * The probe is cached for HEALTH_PROBE_TTL_SECONDS (1 s here): waits until the answer reflects a
 * change (the next probe), instead of sleeping past the cache's lifetime.
 */
const healthOnceItShows = (g: Gateway, shows: (body: Record<string, unknown>) => boolean) =>
  eventually(async () => {
    const res = await health(g);
    return shows(res.json()) ? res : undefined;
  });

describe('the Cal.com health endpoint', () => {
  it('reports degraded before any sync or webhook registration, with truthful fields', async () => {
    const g = await ownGateway();
    const res = await health(g);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'degraded',
      api_reachable: true,
      webhook_registered: false,
      last_sync: null,
      // The seeded company maps haircut (2), colour (2), wash (2), blow-dry (2) and cut (2) event types.
      event_types_count: 8,
    });
  });

  it('reports healthy once event types are synced and the webhook is registered', async () => {
    const g = await ownGateway();
    expect((await health(g)).json().status).toBe('degraded');
    // The company shares the sandbox account: it imports only event types assigned to it.
    await assignEventTypes(g.database.db, g.company.companyId, [104, 204, 304, 404]);
    expect(await syncEventTypesNow(ops(g))).toBe(0);
    expect(await registerWebhooksNow(ops(g))).toBe(0);
    const res = await healthOnceItShows(g, (body) => body.status === 'healthy');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ status: 'healthy', api_reachable: true, webhook_registered: true });
    expect(Date.now() - Date.parse(body.last_sync)).toBeLessThan(60_000);
    // After the sync every event type of the sandbox account is mapped (12 in the demo seed).
    expect(body.event_types_count).toBe(12);
  });

  it('answers 503 when Cal.com rejects the key, and when it is unreachable', async () => {
    const g = await ownGateway();
    g.sandbox.control.injectFault({ operation: 'me.get', status: 401, count: 1 });
    const rejected = await health(g);
    expect(rejected.statusCode).toBe(503);
    expect(rejected.json()).toMatchObject({ status: 'unhealthy', api_reachable: true, api_key_valid: false });

    g.sandbox.control.injectFault({ operation: 'me.get', status: 503, count: 10 });
    const down = await healthOnceItShows(g, (body) => body.api_reachable === false);
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ status: 'unhealthy', api_reachable: false });
  });

  it("probes each company's own key too: one rejected shows, naming the company to operators only", async () => {
    const admin = { ADMIN_USERNAME: 'operator', ADMIN_PASSWORD: 'operator-password-42' };
    const g = await ownGateway({ env: { HEALTH_PROBE_TTL_SECONDS: '1', ...admin } });
    const salon = await companyCreate(ops(g), {
      name: 'Revoked key salon',
      timezone: 'Europe/Berlin',
      calcomApiKey: 'cal_live_revoked_by_the_salon',
    });
    const anyone = await healthOnceItShows(g, (body) => body.api_key_valid === false);
    expect(anyone.statusCode).toBe(503);
    expect(anyone.json()).toMatchObject({
      status: 'unhealthy',
      error: "a company's own account: Cal.com rejected the API key",
    });
    // Anyone, or another company's token: no company id, no list of accounts.
    for (const headers of [{}, auth(g.company.token)]) {
      const res = await g.app.inject({ method: 'GET', url: '/api/health/calcom', headers });
      expect(res.json().accounts).toBeUndefined();
      expect(res.body).not.toContain(salon.companyId);
    }
    const basic = `Basic ${Buffer.from(`${admin.ADMIN_USERNAME}:${admin.ADMIN_PASSWORD}`).toString('base64')}`;
    const res = await g.app.inject({
      method: 'GET',
      url: '/api/health/calcom',
      headers: { authorization: basic },
    });
    expect(res.json().accounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          account: 'shared',
          company_ids: [g.company.companyId],
          api_key_valid: true,
        }),
        expect.objectContaining({ account: 'company', company_ids: [salon.companyId], api_key_valid: false }),
      ]),
    );
    // Its secret never appears.
    expect(res.body).not.toContain('cal_live_revoked_by_the_salon');
    // Disabled, it is no longer probed.
    await setCompanyDisabled(g.runtime(), salon.companyId, true);
    await healthOnceItShows(g, (body) => body.api_key_valid === true);
    const after = await g.app.inject({
      method: 'GET',
      url: '/api/health/calcom',
      headers: { authorization: basic },
    });
    expect(after.json().accounts).toHaveLength(1);
  });

  it('without CALCOM_API_KEY, probes the companies that have a key of their own', async () => {
    // Every salon has its own account; the seeded company has not been given its key yet.
    const noSharedKey = { HEALTH_PROBE_TTL_SECONDS: '1', CALCOM_API_KEY: undefined };
    const g = await ownGateway({ env: noSharedKey as unknown as Record<string, string> });
    const none = await health(g);
    expect(none.statusCode).toBe(503);
    expect(none.json()).toMatchObject({ error: 'no Cal.com API key configured' });
    const casey = await companyCreate(ops(g), {
      name: 'Casey Hair',
      timezone: 'Europe/Berlin',
      calcomApiKey: 'cal_test_sandbox_casey',
    });
    const res = await healthOnceItShows(g, (body) => body.api_key_valid === true);
    expect(res.statusCode).toBe(200);
    expect(res.json().error).toBeUndefined();
    expect(res.body).not.toContain(casey.companyId);
  });

  it('spends at most two Cal.com calls per probe lifetime, however often it is asked', async () => {
    // A lifetime of a minute: the 20 requests cannot outlast it, however busy the machine.
    const g = await ownGateway({ env: { HEALTH_PROBE_TTL_SECONDS: '60' } });
    await Promise.all(Array.from({ length: 20 }, () => health(g)));
    const calls = g.sandbox.control.requests().length;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(2);
  });
});

describe('event-type sync', () => {
  it('imports new event types as services and soft-deletes services whose event types are gone', async () => {
    const gw = await ownGateway();
    gw.sandbox.control.addEventType({
      id: 901,
      ownerId: 1,
      hostIds: [2],
      title: 'Beard trim',
      slug: 'beard-trim',
      lengthInMinutes: 20,
    });
    await assignEventTypes(gw.database.db, gw.company.companyId, [901]);
    expect(await syncEventTypesNow(ops(gw), gw.company.companyId)).toBe(0);
    expect(await serviceNames(gw)).toContain('Beard trim');

    gw.sandbox.control.deleteEventType(HAIRCUT.alex);
    gw.sandbox.control.deleteEventType(HAIRCUT.billie);
    lines.length = 0;
    expect(await syncEventTypesNow(ops(gw), gw.company.companyId)).toBe(0);
    expect(lines.join('\n')).toContain(`event type ${HAIRCUT.alex}`);
    const [haircut] = await gw.database.db
      .select()
      .from(services)
      .where(eq(services.id, gw.company.serviceIds[0] as string));
    expect(haircut?.deletedAt).not.toBeNull();
    expect(await serviceNames(gw)).not.toContain('Haircut');
    const day = testDay();
    const availability = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${gw.company.serviceIds[0]}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      headers: auth(gw.company.token),
    });
    expect(availability.statusCode).toBe(404);
    const [state] = await gw.database.db
      .select()
      .from(syncState)
      .where(and(eq(syncState.companyId, gw.company.companyId), eq(syncState.kind, 'event_types')));
    const drift = (state?.stats as { drift?: Array<{ eventTypeId: number; field: string }> } | undefined)
      ?.drift;
    expect(drift).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ eventTypeId: HAIRCUT.alex, field: 'deleted' }),
        expect.objectContaining({ eventTypeId: HAIRCUT.billie, field: 'deleted' }),
      ]),
    );
  });
});

describe('event-type sync and host confirmation', () => {
  it('reports an event type that waits for the host as drift where a multi-segment service uses it', async () => {
    const g = await ownGateway();
    const eventTypes = g.sandbox.control.state().eventTypes as SandboxEventType[];
    // Alex's colour (a segment of the multi-segment services) and haircut (a simple service).
    for (const id of [202, HAIRCUT.alex]) {
      const eventType = eventTypes.find((e) => e.id === id) as SandboxEventType;
      g.sandbox.control.addEventType({
        ...eventType,
        confirmationPolicy: { type: 'always', blockUnconfirmedBookingsInBooker: true },
      });
    }
    lines.length = 0;
    expect(await syncEventTypesNow(ops(g), g.company.companyId)).toBe(0);
    const [state] = await g.database.db
      .select()
      .from(syncState)
      .where(and(eq(syncState.companyId, g.company.companyId), eq(syncState.kind, 'event_types')));
    const stats = state?.stats as { drift: Array<{ eventTypeId: number; field: string; serviceId: string }> };
    const flagged = stats.drift
      .filter((d) => d.field === 'confirmationPolicy')
      .map((d) => `${d.eventTypeId} ${d.serviceId}`)
      .sort();
    // Each multi-segment service using one of them; the simple haircut service may wait for its host.
    const [haircut, colourWashBlowDry, colourCut] = g.company.serviceIds;
    expect(flagged).toEqual([`102 ${colourCut}`, `202 ${colourWashBlowDry}`, `202 ${colourCut}`].sort());
    expect(flagged.some((f) => f.endsWith(` ${haircut}`))).toBe(false);
    expect(lines.join('\n')).toContain('event type 202');
    expect(lines.join('\n')).toContain('confirmationPolicy');
  });
});

describe('creating a service', () => {
  it('creates its hidden Cal.com event type with an address and maps the service to it', async () => {
    const created = await serviceCreate(ops(), gw.company.companyId, {
      name: 'Scalp massage',
      durationMinutes: 25,
      address: 'Hauptstrasse 1, Berlin',
    });
    const state = gw.sandbox.control.state() as {
      eventTypes: Array<{ id: number; title: string; hidden?: boolean }>;
    };
    expect(state.eventTypes.find((e) => e.id === created.eventTypeId)).toMatchObject({
      title: 'Scalp massage',
      hidden: true,
    });
    expect(await serviceNames()).toContain('Scalp massage');
    // The next sync knows it: no duplicate service.
    expect(await syncEventTypesNow(ops(), gw.company.companyId)).toBe(0);
    expect((await serviceNames()).filter((n) => n === 'Scalp massage')).toHaveLength(1);
  });

  it('refuses a bad duration with an error naming the field, creating nothing in Cal.com', async () => {
    const before = gw.sandbox.control.requests().filter((r) => r.operation === 'eventTypes.create').length;
    await expect(
      serviceCreate(ops(), gw.company.companyId, { name: 'Forever', durationMinutes: 0 }),
    ).rejects.toThrow(/durationMinutes/);
    expect(gw.sandbox.control.requests().filter((r) => r.operation === 'eventTypes.create')).toHaveLength(
      before,
    );
  });
});

describe('booking reconciliation', () => {
  it('picks up changes whose webhooks never arrived', async () => {
    const day = testDay();
    // The sandbox delivers (and drops) webhooks once our subscription exists.
    expect(await registerWebhooksNow(ops())).toBe(0);
    const created = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: {
        // Colour, wash and blow-dry: a composite, so the cancel below releases its other segments.
        serviceId: gw.company.serviceIds[1],
        start: berlin(day, '09:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Quinn', email: 'quinn@example.org' },
      },
    });
    expect(created.statusCode).toBe(201);
    await gw.sandbox.control.flushWebhooks();
    // Cal.com drops the next deliveries: a cancel and a booking made in its UI.
    gw.sandbox.control.setWebhookDrop({ count: 2 });
    const walkIn = gw.sandbox.control.createBookingDirect({
      eventTypeId: HAIRCUT.billie,
      start: berlin(day, '15:00'),
      attendee: { name: 'Walk In', email: 'walk-in-2@example.org', timeZone: 'Europe/Berlin' },
    });
    const [segment] = gw.sandbox.control
      .bookings()
      .filter((b) => b.metadata.calgateAppointmentId === created.json().id);
    gw.sandbox.control.cancelBookingDirect(segment?.uid as string, 'Cancelled at the desk');
    await gw.sandbox.control.flushWebhooks();
    const dropped = (gw.sandbox.control.state().deliveries as Array<{ dropped: boolean }>).filter(
      (d) => d.dropped,
    );
    expect(dropped).toHaveLength(2);
    const row = async (where: ReturnType<typeof eq>) =>
      (await gw.database.db.select().from(appointments).where(where))[0];
    expect((await row(eq(appointments.id, created.json().id)))?.status).toBe('confirmed');
    expect(await row(eq(appointments.calcomBookingUid, walkIn.uid))).toBeUndefined();

    lines.length = 0;
    expect(await reconcileNow(ops(), gw.company.companyId)).toBe(0);
    expect(lines.join('\n')).toMatch(/applied/);
    expect(await row(eq(appointments.calcomBookingUid, walkIn.uid))).toMatchObject({
      status: 'confirmed',
      source: 'reconcile',
      serviceId: gw.company.serviceIds[0],
    });
    // The composite's other segment is released by the compensation job the cancel started.
    await eventually(async () =>
      (await row(eq(appointments.id, created.json().id)))?.status === 'cancelled' ? true : undefined,
    );
    const mine = gw.sandbox.control
      .bookings()
      .filter((b) => b.metadata.calgateAppointmentId === created.json().id);
    expect(mine.every((b) => b.status === 'cancelled')).toBe(true);

    // A second run changes nothing.
    lines.length = 0;
    expect(await reconcileNow(ops(), gw.company.companyId)).toBe(0);
    expect(lines.join('\n')).toMatch(/ 0 applied/);
  });
});
