import { resetCaches } from '@calgate/cache';
import { signCalcomPayload } from '@calgate/calcom';
import { companySetSecrets, registerWebhooksNow, syncEventTypesNow } from '@calgate/cli/operations';
import { companyScopeEdit, rotateSecretNow } from '@calgate/cli/tenancy';
import {
  appointmentHistory,
  appointmentSegments,
  appointments,
  companies,
  customers,
  eventTypeMappings,
  newId,
  openSecret,
  parseEncryptionKey,
  retiredWebhookSecrets,
  SECRET_COLUMNS,
  webhookInbox,
} from '@calgate/db';
import {
  adminCreateCompany,
  assignEventTypes,
  eventTypeInScope,
  reconcileBookings,
  setCompanySecrets,
  unassignEventTypes,
} from '@calgate/domain';
import { seedCompany } from '@calgate/testkit';
import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

const GLOBAL_SECRET = 'test-webhook-secret-123';
/** The sandbox's stylist Casey acts as a salon with a Cal.com account of its own. */
const CASEY_KEY = 'cal_test_sandbox_casey';
const CASEY_EVENT_TYPE = 904;
/** Casey's haircut in the shared account: company B's. */
const B_HAIRCUT = 104;
const B_COLOUR = 204;

let gw: Gateway;
let b: Awaited<ReturnType<typeof seedCompany>>;
const lines: string[] = [];
const ops = () => ({ runtime: gw.runtime(), out: (line: string) => lines.push(line) });

beforeAll(async () => {
  gw = await startGateway({ listen: true });
  // Company B shares the Cal.com account (CALCOM_API_KEY) with the gateway's company A.
  b = await seedCompany(gw.database.db, {
    name: 'Salon B',
    staff: [{ name: 'Casey', calcomUserId: 4 }],
    services: [
      {
        name: 'B haircut',
        segments: [{ name: 'Cut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: B_HAIRCUT }] }],
      },
    ],
  });
  // The shared account gets one subscription, to the global URL.
  expect(await registerWebhooksNow(ops(), gw.company.companyId)).toBe(0);
});
afterAll(async () => {
  await gw.close();
});

function deliver(body: string, signature: string, path = '') {
  return gw.app.inject({
    method: 'POST',
    url: `/api/webhooks/calcom${path}`,
    headers: { 'content-type': 'application/json', 'x-cal-signature-256': signature },
    payload: body,
  });
}

async function inboxRow(id: string) {
  return eventually(async () => {
    const [row] = await gw.database.db.select().from(webhookInbox).where(eq(webhookInbox.id, id));
    return row?.status === 'processed' || row?.status === 'ignored' ? row : undefined;
  }, 30_000);
}

const bookingBody = (
  trigger: string,
  booking: { uid: string; eventTypeId: number; start: string; metadata?: Record<string, string> },
) =>
  JSON.stringify({
    triggerEvent: trigger,
    createdAt: new Date().toISOString(),
    payload: {
      uid: booking.uid,
      bookingId: 9_000_000 + Math.floor(Math.random() * 1_000_000),
      eventTypeId: booking.eventTypeId,
      startTime: booking.start,
      endTime: new Date(Date.parse(booking.start) + 30 * 60_000).toISOString(),
      attendees: [{ name: 'Forged Person', email: 'forged@example.org', timeZone: 'Europe/Berlin' }],
      metadata: booking.metadata ?? {},
      status: trigger === 'BOOKING_CANCELLED' ? 'CANCELLED' : 'ACCEPTED',
    },
  });

const rowsOf = async (companyId: string) =>
  gw.database.db.select().from(appointments).where(eq(appointments.companyId, companyId));

describe('two companies on one shared Cal.com account', () => {
  it("B's event-type sync imports only B's own event types, never A's", async () => {
    await companyScopeEdit(ops(), b.companyId, { assign: [B_COLOUR], unassign: [] });
    expect(lines.at(-1)).toContain(`${B_HAIRCUT}, ${B_COLOUR}`);
    // A's event type cannot be given to B as well.
    await expect(assignEventTypes(gw.database.db, b.companyId, [HAIRCUT.alex])).rejects.toThrow(
      /belongs to another company/,
    );
    expect(await syncEventTypesNow(ops(), b.companyId)).toBe(0);
    const mapped = await gw.database.db
      .select({ eventTypeId: eventTypeMappings.calcomEventTypeId })
      .from(eventTypeMappings)
      .where(and(eq(eventTypeMappings.companyId, b.companyId), isNull(eventTypeMappings.deletedAt)));
    expect(mapped.map((m) => m.eventTypeId).sort()).toEqual([B_HAIRCUT, B_COLOUR]);
    expect(await eventTypeInScope(gw.database.db, b.companyId, HAIRCUT.alex)).toBe(false);
    expect(await eventTypeInScope(gw.database.db, gw.company.companyId, HAIRCUT.alex)).toBe(true);
    // A's sync neither imports B's event types.
    expect(await syncEventTypesNow(ops(), gw.company.companyId)).toBe(0);
    const aMapped = await gw.database.db
      .select({ eventTypeId: eventTypeMappings.calcomEventTypeId })
      .from(eventTypeMappings)
      .where(and(eq(eventTypeMappings.companyId, gw.company.companyId), isNull(eventTypeMappings.deletedAt)));
    expect(aMapped.map((m) => m.eventTypeId)).not.toContain(B_HAIRCUT);
  });

  it("B never receives, reconciles or books A's bookings and customers", async () => {
    const day = testDay();
    // B holds a mapping to A's event type, written by hand: outside B's scope, it counts for nothing.
    await gw.database.db
      .update(eventTypeMappings)
      .set({ calcomEventTypeId: HAIRCUT.alex })
      .where(eq(eventTypeMappings.serviceId, b.serviceIds[0] as string));
    // Made directly in Cal.com on A's event type, and its webhook lost: only reconciliation sees it.
    gw.sandbox.control.setWebhookDrop({ count: 1 });
    const direct = gw.sandbox.control.createBookingDirect({
      eventTypeId: HAIRCUT.alex,
      start: berlin(day, '12:00'),
      attendee: { name: 'Ada Customer', email: 'ada-a@example.org', timeZone: 'Europe/Berlin' },
    });
    await gw.sandbox.control.flushWebhooks();
    // B reconciles first: it must not take A's booking (nor A's customer) as its own.
    const result = await reconcileBookings(gw.runtime(), b.companyId);
    expect(result.applied).toBe(0);
    expect(await rowsOf(b.companyId)).toEqual([]);
    const bCustomers = await gw.database.db
      .select()
      .from(customers)
      .where(eq(customers.companyId, b.companyId));
    expect(bCustomers).toEqual([]);
    // A's reconciliation then records it as A's.
    expect((await reconcileBookings(gw.runtime(), gw.company.companyId)).applied).toBeGreaterThan(0);
    const [recorded] = await gw.database.db
      .select()
      .from(appointments)
      .where(eq(appointments.calcomBookingUid, direct.uid));
    expect(recorded?.companyId).toBe(gw.company.companyId);

    const before = gw.sandbox.control.bookings().length;
    const attempt = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(b.token, { prefer: 'wait=20' }),
      payload: {
        serviceId: b.serviceIds[0],
        start: berlin(day, '14:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Bea', email: 'bea-b@example.org' },
      },
    });
    expect(attempt.json().error?.code).toBe('INVALID_EVENT_TYPE');
    expect(gw.sandbox.control.bookings().length).toBe(before);
    const availability = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${b.serviceIds[0]}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      headers: auth(b.token),
    });
    expect(availability.statusCode === 200 ? availability.json().slots : []).toEqual([]);
    await gw.database.db
      .update(eventTypeMappings)
      .set({ calcomEventTypeId: B_HAIRCUT })
      .where(eq(eventTypeMappings.serviceId, b.serviceIds[0] as string));
  });

  it("a delivery whose metadata names A's appointment is applied in B's scope, never to A's", async () => {
    const day = testDay();
    const booked = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: {
        serviceId: gw.company.serviceIds[0],
        start: berlin(day, '09:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Ari', email: 'ari-a@example.org' },
      },
    });
    expect(booked.statusCode).toBe(201);
    const aId = booked.json().id as string;
    // Someone books B's event type in Cal.com carrying A's appointment id, then cancels it.
    const hostile = gw.sandbox.control.createBookingDirect({
      eventTypeId: B_HAIRCUT,
      start: berlin(day, '11:00'),
      attendee: { name: 'Mallory', email: 'mallory@example.org', timeZone: 'Europe/Berlin' },
      metadata: { calgateId: aId },
    });
    gw.sandbox.control.cancelBookingDirect(hostile.uid, 'gone');
    await gw.sandbox.control.flushWebhooks();
    const ofB = await eventually(async () => {
      const [row] = await gw.database.db
        .select()
        .from(appointments)
        .where(and(eq(appointments.companyId, b.companyId), eq(appointments.calcomBookingUid, hostile.uid)));
      return row?.status === 'cancelled' ? row : undefined;
    }, 30_000);
    expect(ofB.companyId).toBe(b.companyId);
    const [a] = await gw.database.db.select().from(appointments).where(eq(appointments.id, aId));
    expect(a?.status).toBe('confirmed');
    expect(a?.calcomBookingUid).toBe(booked.json().calcom.bookingUid);
  });

  it('a company that gets its own key releases its event types of the shared account, and its mappings to them', async () => {
    const d = await seedCompany(gw.database.db, {
      name: 'Moving out',
      staff: [{ name: 'Dana', calcomUserId: 3 }],
      services: [
        {
          name: 'Colour',
          segments: [{ name: 'Colour', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: 304 }] }],
        },
      ],
    });
    await assignEventTypes(gw.database.db, d.companyId, [304]);
    await expect(assignEventTypes(gw.database.db, b.companyId, [304])).rejects.toThrow(/another company/);
    await setCompanySecrets(gw.database.db, gw.runtime().keyring, d.companyId, {
      calcomApiKey: 'cal_test_sandbox_moving_out',
    });
    // Its mapping to 304 stops at once: with its own key every event type of its scope would
    // otherwise count, and it could book 304 for the next owner's staff until its next sync.
    const mappings = await gw.database.db
      .select()
      .from(eventTypeMappings)
      .where(eq(eventTypeMappings.companyId, d.companyId));
    expect(mappings.map((m) => [m.calcomEventTypeId, m.deletedAt !== null])).toEqual([[304, true]]);
    expect(await assignEventTypes(gw.database.db, b.companyId, [304])).toEqual({
      assigned: [304],
      already: [],
    });
    await unassignEventTypes(gw.database.db, b.companyId, [304]);
  });

  it("refuses the shared account's key, or another company's, as a company's own", async () => {
    const runtime = gw.runtime();
    // DEMO_API_KEY is the gateway's CALCOM_API_KEY here: the shared account.
    await expect(
      adminCreateCompany(runtime, { name: 'Takes the shared key', calcomApiKey: gw.env.CALCOM_API_KEY }),
    ).rejects.toThrow(/^calcomApiKey: this is the shared account's key/);
    const e = await seedCompany(gw.database.db, { name: 'Shared-key hopeful' });
    await expect(
      companySetSecrets(ops(), e.companyId, { calcomApiKey: gw.env.CALCOM_API_KEY as string }),
    ).rejects.toThrow(/shared account's key/);
    await companySetSecrets(ops(), e.companyId, { calcomApiKey: 'cal_test_sandbox_only_mine' });
    const f = await seedCompany(gw.database.db, { name: 'Key copier' });
    await expect(
      companySetSecrets(ops(), f.companyId, { calcomApiKey: 'cal_test_sandbox_only_mine' }),
    ).rejects.toThrow(`calcomApiKey: company ${e.companyId} already has this key`);
    await expect(
      adminCreateCompany(runtime, { name: 'Key copier two', calcomApiKey: 'cal_test_sandbox_only_mine' }),
    ).rejects.toThrow(/already has this key/);
    // Nothing was stored for the refused ones; a company may set its own key again.
    const [refused] = await gw.database.db.select().from(companies).where(eq(companies.id, f.companyId));
    expect(refused?.calcomApiKeyEncrypted).toBeNull();
    await companySetSecrets(ops(), e.companyId, { calcomApiKey: 'cal_test_sandbox_only_mine' });
    await companySetSecrets(ops(), e.companyId, { calcomApiKey: null });
  });

  it('of companies given one key at the same moment, exactly one keeps it', async () => {
    const runtime = gw.runtime();
    const key = 'cal_test_sandbox_raced';
    const rivals = await Promise.all(
      ['Racer one', 'Racer two', 'Racer three'].map((name) => seedCompany(gw.database.db, { name })),
    );
    const outcomes = await Promise.allSettled([
      ...rivals.map((r) => companySetSecrets(ops(), r.companyId, { calcomApiKey: key })),
      adminCreateCompany(runtime, { name: 'Racer four', calcomApiKey: key }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected')
        expect(String(o.reason)).toMatch(/calcomApiKey: company \S+ already has this key/);
    }
    const holders = await gw.database.db
      .select({ id: companies.id, sealed: companies.calcomApiKeyEncrypted })
      .from(companies)
      .where(isNotNull(companies.calcomApiKeyEncrypted));
    const keyed = holders.filter(
      (h) =>
        openSecret(h.sealed as string, runtime.keyring, {
          companyId: h.id,
          column: SECRET_COLUMNS.calcomApiKey,
        }) === key,
    );
    expect(keyed).toHaveLength(1);
  });

  it('a booking of a stylist two companies both list stops both offering that time', async () => {
    // Alex (Cal.com user 2) works for A on 102 and for another company of the account on 9102.
    gw.sandbox.control.addEventType({
      id: 9102,
      ownerId: 1,
      hostIds: [2],
      title: 'Haircut (the other salon)',
      slug: 'haircut-the-other-salon',
      lengthInMinutes: 30,
    });
    const other = await seedCompany(gw.database.db, {
      name: 'The other salon',
      staff: [{ name: 'Alex', calcomUserId: 2 }],
      services: [
        {
          name: 'Haircut',
          segments: [{ name: 'Haircut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: 9102 }] }],
        },
      ],
    });
    await assignEventTypes(gw.database.db, other.companyId, [9102]);
    // A staff member's event types are reused for a few seconds; the new mapping counts after that.
    resetCaches();
    const day = testDay();
    const at = berlin(day, '10:00');
    const starts = async (token: string, serviceId: string) => {
      const res = await gw.app.inject({
        method: 'GET',
        url: `/api/v2/services/${serviceId}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
        headers: auth(token),
      });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json().slots as Array<{ start: string }>).map((slot) => slot.start);
    };
    // Both companies' days are cached with Alex free at 10:00.
    expect(await starts(other.token, other.serviceIds[0] as string)).toContain(at);
    const booked = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=10' }),
      payload: {
        serviceId: gw.company.serviceIds[0],
        staffId: gw.company.staffIds[0],
        start: at,
        timeZone: 'Europe/Berlin',
        customer: { name: 'Shared Stylist', email: 'shared-stylist@example.org' },
      },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    // The other company's cached day went with A's: it no longer offers the time Alex is booked.
    expect(await starts(other.token, other.serviceIds[0] as string)).not.toContain(at);
    await unassignEventTypes(gw.database.db, other.companyId, [9102]);
  });

  it("a delivery outside every company's scope is stored as ignored and counted", async () => {
    const before = (await gw.runtime().counters.read()).webhooks_out_of_scope;
    const body = bookingBody('BOOKING_CREATED', {
      uid: `nobody-${newId('x')}`,
      eventTypeId: 404,
      start: berlin(testDay(), '13:00'),
    });
    const res = await deliver(body, signCalcomPayload(body, GLOBAL_SECRET));
    expect(res.statusCode).toBe(200);
    const row = await inboxRow(res.json().id);
    expect(row.status).toBe('ignored');
    expect(row.lastError).toMatch(/outside every company's scope/);
    expect((await gw.runtime().counters.read()).webhooks_out_of_scope).toBe(before + 1);
  });
});

describe('composites of two companies sharing a segment uid', () => {
  async function composite(companyId: string, staffId: string, serviceId: string, gen: number) {
    const [customer] = await gw.database.db
      .insert(customers)
      .values({ id: newId('cus'), companyId, name: 'Same Uid', email: `same-${newId('x')}@example.org` })
      .returning();
    const id = newId('apt');
    const start = new Date(berlin(testDay(), '15:00'));
    await gw.database.db.insert(appointments).values({
      id,
      companyId,
      serviceId,
      customerId: customer?.id as string,
      staffId,
      status: 'confirmed',
      startsAt: start,
      endsAt: new Date(start.getTime() + 45 * 60_000),
      timezone: 'Europe/Berlin',
      compositeGroupUid: newId('grp'),
      currentGeneration: gen,
    });
    await gw.database.db.insert(appointmentHistory).values({
      appointmentId: id,
      event: 'confirmed',
      fromStatus: 'pending',
      toStatus: 'confirmed',
      actor: 'worker',
      data: { generation: gen },
    });
    return { id, start };
  }

  it("a cancel routed to A by its event type cancels A's composite and leaves B's alone", async () => {
    const uid = `shared-${newId('x')}`;
    const a = await composite(
      gw.company.companyId,
      gw.company.staffIds[0] as string,
      gw.company.serviceIds[1] as string,
      0,
    );
    const bOwn = await composite(b.companyId, b.staffIds[0] as string, b.serviceIds[0] as string, 7);
    const segment = (
      appointmentId: string,
      serviceSegmentId: string,
      staffId: string,
      generation: number,
      eventTypeId: number,
      start: Date,
    ) => ({
      id: newId('aps'),
      appointmentId,
      serviceSegmentId,
      position: 0,
      generation,
      staffId,
      calcomEventTypeId: eventTypeId,
      startsAt: start,
      endsAt: new Date(start.getTime() + 45 * 60_000),
      status: 'booked' as const,
      calcomBookingUid: uid,
    });
    await gw.database.db.insert(appointmentSegments).values([
      segment(
        a.id,
        gw.company.segmentIds[1]?.[0] as string,
        gw.company.staffIds[0] as string,
        0,
        202,
        a.start,
      ),
      // B's segment has the higher generation: a lookup across companies would pick it first.
      segment(bOwn.id, b.segmentIds[0]?.[0] as string, b.staffIds[0] as string, 7, B_HAIRCUT, bOwn.start),
    ]);
    const body = bookingBody('BOOKING_CANCELLED', { uid, eventTypeId: 202, start: a.start.toISOString() });
    const res = await deliver(body, signCalcomPayload(body, GLOBAL_SECRET));
    expect(res.statusCode).toBe(200);
    const row = await inboxRow(res.json().id);
    expect(row.companyId).toBe(gw.company.companyId);
    const status = async (id: string) =>
      (await gw.database.db.select().from(appointments).where(eq(appointments.id, id)))[0]?.status;
    expect(['cancelling', 'cancelled']).toContain(await status(a.id));
    expect(await status(bOwn.id)).toBe('confirmed');
    const [bSegment] = await gw.database.db
      .select()
      .from(appointmentSegments)
      .where(eq(appointmentSegments.appointmentId, bOwn.id));
    expect(bSegment?.status).toBe('booked');
  });
});

describe('a company with its own Cal.com account', () => {
  let c: Awaited<ReturnType<typeof seedCompany>>;
  const subscriptions = async (key: string) => {
    const res = await fetch(`${gw.sandbox.baseUrl}/webhooks`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const body = (await res.json()) as {
      data: Array<{ id: string; subscriberUrl: string; secret?: string }>;
    };
    return body.data;
  };
  const cPath = () => `/${c.companyId}`;

  beforeAll(async () => {
    gw.sandbox.control.addEventType({
      id: CASEY_EVENT_TYPE,
      ownerId: 4,
      title: 'Casey’s own cut',
      slug: 'casey-own-cut',
      lengthInMinutes: 30,
      slotIntervalMinutes: 15,
    });
    c = await seedCompany(gw.database.db, {
      name: 'Casey’s own salon',
      calcomApiKey: CASEY_KEY,
      encryptionKey: parseEncryptionKey(gw.config.secretsEncryptionKey),
    });
    // What an older registration left there: the global URL with the global secret.
    await fetch(`${gw.sandbox.baseUrl}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CASEY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        subscriberUrl: `${gw.baseUrl}/api/webhooks/calcom`,
        triggers: ['BOOKING_CREATED'],
        active: true,
        secret: GLOBAL_SECRET,
      }),
    });
    expect(await registerWebhooksNow(ops(), c.companyId)).toBe(0);
  });

  it('gets its own URL and a fresh secret of its own; the global secret never reaches its account', async () => {
    // Registered in beforeAll; a second registration changes nothing.
    expect(await registerWebhooksNow(ops(), c.companyId)).toBe(0);
    expect(lines.at(-1)).toMatch(/unchanged/);
    const hooks = await subscriptions(CASEY_KEY);
    expect(hooks.map((h) => h.subscriberUrl)).toEqual([`${gw.baseUrl}/api/webhooks/calcom/${c.companyId}`]);
    expect(hooks.every((h) => h.secret !== GLOBAL_SECRET && (h.secret?.length ?? 0) >= 32)).toBe(true);
    const [stored] = await gw.database.db.select().from(companies).where(eq(companies.id, c.companyId));
    expect(stored?.calcomWebhookSecretEncrypted).not.toBeNull();
    expect(stored?.calcomWebhookSecretEncrypted).not.toContain(hooks[0]?.secret as string);
    // The shared account keeps its one global subscription.
    const shared = await subscriptions('cal_test_sandbox_demo_key');
    expect(shared.map((h) => h.subscriberUrl)).toEqual([`${gw.baseUrl}/api/webhooks/calcom`]);
  });

  it('imports its whole account and records bookings made there, through its own URL', async () => {
    expect(await syncEventTypesNow(ops(), c.companyId)).toBe(0);
    const mapped = await gw.database.db
      .select({ eventTypeId: eventTypeMappings.calcomEventTypeId })
      .from(eventTypeMappings)
      .where(eq(eventTypeMappings.companyId, c.companyId));
    expect(mapped.map((m) => m.eventTypeId)).toEqual([CASEY_EVENT_TYPE]);
    const direct = gw.sandbox.control.createBookingDirect({
      eventTypeId: CASEY_EVENT_TYPE,
      start: berlin(testDay(), '16:00'),
      attendee: { name: 'Cleo', email: 'cleo-c@example.org', timeZone: 'Europe/Berlin' },
    });
    await gw.sandbox.control.flushWebhooks();
    const row = await eventually(async () => {
      const [found] = await gw.database.db
        .select()
        .from(appointments)
        .where(eq(appointments.calcomBookingUid, direct.uid));
      return found;
    }, 30_000);
    expect(row.companyId).toBe(c.companyId);
    const deliveries = (
      gw.sandbox.control.state().deliveries as Array<{ uid: string; url: string; status: number }>
    ).filter((d) => d.uid === direct.uid);
    expect(deliveries.map((d) => [d.url, d.status])).toEqual([
      [`${gw.baseUrl}/api/webhooks/calcom/${c.companyId}`, 200],
    ]);
  });

  it('rejects forged deliveries and deliveries replayed from another URL', async () => {
    const [hook] = await subscriptions(CASEY_KEY);
    const cSecret = hook?.secret as string;
    const body = bookingBody('BOOKING_CREATED', {
      uid: `replay-${newId('x')}`,
      eventTypeId: CASEY_EVENT_TYPE,
      start: berlin(testDay(), '17:00'),
    });
    expect((await deliver(body, signCalcomPayload(body, cSecret), cPath())).statusCode).toBe(200);
    // Captured on C's URL, replayed to the global URL and to A's: their secrets differ.
    expect((await deliver(body, signCalcomPayload(body, cSecret))).statusCode).toBe(401);
    expect(
      (await deliver(body, signCalcomPayload(body, cSecret), `/${gw.company.companyId}`)).statusCode,
    ).toBe(401);
    // The global secret verifies nothing on a company's URL, and nothing on the URL of a company
    // that has no secret of its own (a delivery of the shared account replayed there).
    expect((await deliver(body, signCalcomPayload(body, GLOBAL_SECRET), cPath())).statusCode).toBe(401);
    const shared = bookingBody('BOOKING_CREATED', {
      uid: `shared-replay-${newId('x')}`,
      eventTypeId: HAIRCUT.billie,
      start: berlin(testDay(), '17:00'),
    });
    expect((await deliver(shared, signCalcomPayload(shared, GLOBAL_SECRET))).statusCode).toBe(200);
    const replayed = await deliver(
      shared,
      signCalcomPayload(shared, GLOBAL_SECRET),
      `/${gw.company.companyId}`,
    );
    expect(replayed.statusCode).toBe(401);
    expect(
      (await deliver(body, signCalcomPayload(body, 'forged-secret-0000000000'), cPath())).statusCode,
    ).toBe(401);
  });

  it('rotates its secret in one command: the new one works at once, the old one only for the overlap', async () => {
    const [before] = await subscriptions(CASEY_KEY);
    const oldSecret = before?.secret as string;
    await rotateSecretNow(ops(), c.companyId);
    expect(lines.at(-1)).toMatch(/old one verifies until/);
    const [after] = await subscriptions(CASEY_KEY);
    const newSecret = after?.secret as string;
    expect(newSecret).not.toBe(oldSecret);
    expect(newSecret).not.toBe(GLOBAL_SECRET);
    const ping = (n: string) =>
      JSON.stringify({ triggerEvent: 'PING', createdAt: new Date().toISOString(), payload: { n } });
    const fresh = ping('new');
    expect((await deliver(fresh, signCalcomPayload(fresh, newSecret), cPath())).statusCode).toBe(200);
    // A delivery Cal.com signed just before the rotation still verifies.
    const inFlight = ping('in-flight');
    expect((await deliver(inFlight, signCalcomPayload(inFlight, oldSecret), cPath())).statusCode).toBe(200);
    // Once the overlap is over, the old secret verifies nothing.
    await gw.database.db
      .update(retiredWebhookSecrets)
      .set({ validUntil: new Date(Date.now() - 1_000) })
      .where(eq(retiredWebhookSecrets.companyId, c.companyId));
    const late = ping('late');
    await eventually(
      async () =>
        (await deliver(late, signCalcomPayload(late, oldSecret), cPath())).statusCode === 401
          ? true
          : undefined,
      30_000,
    );
  });
});
