import { readFileSync } from 'node:fs';
import { signCalcomPayload } from '@calgate/calcom';
import { registerWebhooksNow } from '@calgate/cli/operations';
import {
  appointmentHistory,
  appointmentSegments,
  appointments,
  companies,
  encryptSecret,
  parseEncryptionKey,
  webhookInbox,
} from '@calgate/db';
import { acceptWebhook, drainWebhookSpill, setCompanySecrets } from '@calgate/domain';
import { seedCompany } from '@calgate/testkit';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

const SECRET = 'test-webhook-secret-123';
const fixture = (name: string) =>
  JSON.stringify(
    JSON.parse(
      readFileSync(new URL(`../packages/calcom/contract/webhooks/${name}.json`, import.meta.url), 'utf8'),
    ),
  );
const FIXTURES = {
  created: fixture('booking-created'),
  rescheduled: fixture('booking-rescheduled'),
  cancelled: fixture('booking-cancelled'),
};
const FIXTURE_EVENT_TYPE = 318552;
const FIRST_UID = '4hTrP8wWb1Ukq2VxGcZ9sN';
const SECOND_UID = '9QmVx2LrT7cYbN4kPfHs1e';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ listen: true });
  // A second company whose service is booked through the fixtures' event type.
  await seedCompany(gw.database.db, {
    name: 'Intro calls',
    staff: [{ name: 'Dana', calcomUserId: 41 }],
    services: [
      {
        name: 'Intro call',
        segments: [
          {
            name: 'Intro call',
            durationMinutes: 30,
            eventTypes: [{ staff: 0, eventTypeId: FIXTURE_EVENT_TYPE }],
          },
        ],
      },
    ],
  });
});
afterAll(async () => {
  await gw.close();
});

function deliver(body: string, signature: string | null = signCalcomPayload(body, SECRET), path = '') {
  return gw.app.inject({
    method: 'POST',
    url: `/api/webhooks/calcom${path}`,
    headers: {
      'content-type': 'application/json',
      ...(signature === null ? {} : { 'x-cal-signature-256': signature }),
    },
    payload: body,
  });
}

/** Rows in the inbox once the sandbox has delivered everything it still had queued (other tests' changes). */
const inboxSize = async () => {
  await gw.sandbox.control.flushWebhooks();
  return (await gw.database.db.select({ id: webhookInbox.id }).from(webhookInbox)).length;
};

async function settled(ids: string[]) {
  await eventually(async () => {
    const rows = await gw.database.db
      .select({ id: webhookInbox.id, status: webhookInbox.status })
      .from(webhookInbox);
    const mine = rows.filter((r) => ids.includes(r.id));
    return mine.length === ids.length && mine.every((r) => r.status === 'processed' || r.status === 'ignored')
      ? true
      : undefined;
  });
}

describe('the webhook receiver', () => {
  it('rejects a bad or missing signature with 401 and stores nothing', async () => {
    const before = await inboxSize();
    const forged = await deliver(FIXTURES.created, signCalcomPayload(FIXTURES.created, 'another-secret-456'));
    const missing = await deliver(FIXTURES.created, null);
    // Signed over different bytes (re-serialised JSON) does not verify either.
    const reformatted = await deliver(
      JSON.stringify(JSON.parse(FIXTURES.created), null, 2),
      signCalcomPayload(FIXTURES.created, SECRET),
    );
    for (const res of [forged, missing, reformatted]) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHORIZED');
      expect(res.body).not.toContain(SECRET);
    }
    expect(await inboxSize()).toBe(before);
  });

  it('rejects malformed JSON and bodies that are not webhooks with 400, storing nothing', async () => {
    const before = await inboxSize();
    const broken = await deliver('{"triggerEvent": "BOOKING_CREATED", ');
    const notWebhook = await deliver('{"hello":"world"}');
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('VALIDATION_FAILED');
    expect(notWebhook.statusCode).toBe(400);
    expect(notWebhook.json().error.message).toContain('triggerEvent');
    expect(await inboxSize()).toBe(before);
  });

  it('accepts the sha256= prefix and stores an unknown trigger as ignored', async () => {
    const body = JSON.stringify({
      triggerEvent: 'BOOKING_PAID',
      createdAt: new Date().toISOString(),
      payload: {},
    });
    const res = await deliver(body, `sha256=${signCalcomPayload(body, SECRET)}`);
    expect(res.statusCode).toBe(200);
    await settled([res.json().id]);
    const [row] = await gw.database.db.select().from(webhookInbox).where(eq(webhookInbox.id, res.json().id));
    expect(row?.status).toBe('ignored');
    expect(row?.lastError).toContain('BOOKING_PAID');
  });
});

describe("a company's own webhook secret", () => {
  it('verifies deliveries to its URL with it, and a rotated secret takes effect at once', async () => {
    const key = parseEncryptionKey(gw.config.secretsEncryptionKey);
    const own = await seedCompany(gw.database.db, { name: 'Own secret', staff: [], services: [] });
    const setSecret = (secret: string) =>
      gw.database.db
        .update(companies)
        .set({ calcomWebhookSecretEncrypted: encryptSecret(secret, key) })
        .where(eq(companies.id, own.companyId));
    const ping = (n: number) =>
      JSON.stringify({ triggerEvent: 'PING', createdAt: '2026-11-24T10:00:00.000Z', payload: { n } });
    const path = `/${own.companyId}`;
    await setSecret('first-company-secret-1');
    const first = await deliver(ping(1), signCalcomPayload(ping(1), 'first-company-secret-1'), path);
    expect(first.statusCode).toBe(200);
    // The env default does not verify a company's deliveries.
    const withDefault = await deliver(ping(2), signCalcomPayload(ping(2), SECRET), path);
    expect(withDefault.statusCode).toBe(401);
    // Rotated (as `calgate webhooks register` does): the next delivery uses the new secret.
    await setSecret('second-company-secret-2');
    const rotated = await deliver(ping(3), signCalcomPayload(ping(3), 'second-company-secret-2'), path);
    expect(rotated.statusCode).toBe(200);
    const forged = await deliver(ping(4), signCalcomPayload(ping(4), 'not-the-secret-4'), path);
    expect(forged.statusCode).toBe(401);
    expect(forged.body).not.toContain('second-company-secret-2');
    const unknown = await deliver(ping(5), signCalcomPayload(ping(5), SECRET), '/no-such-company');
    expect(unknown.statusCode).toBe(401);
  });

  it("refuses a secret copied from another company's row: 500, logged as a bug, never verified", async () => {
    const owner = await seedCompany(gw.database.db, { name: 'Secret owner', staff: [], services: [] });
    const thief = await seedCompany(gw.database.db, { name: 'Copied into', staff: [], services: [] });
    await setCompanySecrets(gw.database.db, gw.runtime().keyring, owner.companyId, {
      webhookSecret: 'owners-secret-0000001',
    });
    const [row] = await gw.database.db.select().from(companies).where(eq(companies.id, owner.companyId));
    await gw.database.db
      .update(companies)
      .set({ calcomWebhookSecretEncrypted: row?.calcomWebhookSecretEncrypted ?? null })
      .where(eq(companies.id, thief.companyId));
    const body = JSON.stringify({ triggerEvent: 'PING', createdAt: '2026-11-24T12:00:00.000Z', payload: {} });
    const signed = signCalcomPayload(body, 'owners-secret-0000001');
    expect((await deliver(body, signed, `/${owner.companyId}`)).statusCode).toBe(200);
    const copied = await deliver(body, signed, `/${thief.companyId}`);
    expect(copied.statusCode, copied.body).toBe(500);
    expect(copied.json().error.code).toBe('INTERNAL');
    expect(copied.json().error.details.requestId).toBeTruthy();
    expect(copied.body).not.toContain('owners-secret');
  });

  it('stores the same delivery once per receiving company, not as a duplicate of another company’s', async () => {
    // Two companies on one Cal.com account (the env default key): Cal.com sends every event to
    // both subscriber URLs, each signed with that URL's secret.
    const key = parseEncryptionKey(gw.config.secretsEncryptionKey);
    const other = await seedCompany(gw.database.db, { name: 'Same account', staff: [], services: [] });
    await gw.database.db
      .update(companies)
      .set({ calcomWebhookSecretEncrypted: encryptSecret('same-account-secret-7', key) })
      .where(eq(companies.id, other.companyId));
    const body = JSON.stringify({
      triggerEvent: 'PING',
      createdAt: '2026-11-24T11:00:00.000Z',
      payload: { shared: true },
    });
    const toDefault = await deliver(body);
    const toCompany = await deliver(
      body,
      signCalcomPayload(body, 'same-account-secret-7'),
      `/${other.companyId}`,
    );
    const again = await deliver(
      body,
      signCalcomPayload(body, 'same-account-secret-7'),
      `/${other.companyId}`,
    );
    expect(toDefault.json()).toMatchObject({ received: true, duplicate: false });
    expect(toCompany.json()).toMatchObject({ received: true, duplicate: false });
    expect(toCompany.json().id).not.toBe(toDefault.json().id);
    // A redelivery to the same URL is still a duplicate.
    expect(again.json()).toMatchObject({ duplicate: true, id: toCompany.json().id });
  });
});

describe('a burst of deliveries (stored together, answered one by one)', () => {
  it('gives each delivery its own outcome: fresh, duplicate of one in the same burst, or kept with a NUL replaced', async () => {
    const unknown = (n: number) =>
      JSON.stringify({ triggerEvent: 'BOOKING_PAID', createdAt: new Date().toISOString(), payload: { n } });
    const distinct = Array.from({ length: 40 }, (_, n) => unknown(n));
    const same = unknown(1_000);
    // jsonb refuses a NUL; Cal.com delivers once, so the delivery is kept with it replaced.
    const withNul = JSON.stringify({ triggerEvent: 'BOOKING_PAID', payload: { note: 'a\u0000b' } });
    const bodies = [...distinct, same, same, same, same, same, withNul];
    const answers = await Promise.all(bodies.map((body) => deliver(body)));

    const fresh = answers.slice(0, 40).map((res) => res.json());
    expect(answers.slice(0, 40).map((res) => res.statusCode)).toEqual(Array(40).fill(200));
    expect(fresh.every((body) => body.duplicate === false)).toBe(true);
    expect(new Set(fresh.map((body) => body.id)).size).toBe(40);

    const copies = answers.slice(40, 45).map((res) => res.json());
    expect(new Set(copies.map((body) => body.id)).size).toBe(1);
    expect(copies.filter((body) => body.duplicate === false)).toHaveLength(1);

    const kept = answers[45];
    expect(kept?.statusCode, kept?.body).toBe(200);

    const ids = [...fresh.map((body) => body.id), copies[0]?.id, kept?.json().id];
    await settled(ids);
    const rows = await gw.database.db.select().from(webhookInbox).where(inArray(webhookInbox.id, ids));
    expect(rows).toHaveLength(42);
    expect(rows.find((row) => row.id === kept?.json().id)?.payload).toEqual({
      triggerEvent: 'BOOKING_PAID',
      payload: { note: 'a\uFFFDb' },
    });
    expect(rows.every((row) => row.status === 'ignored')).toBe(true);
    const stored = rows.find((row) => row.id === fresh[7]?.id);
    expect(stored?.payload).toEqual(JSON.parse(distinct[7] as string));
  });
});

/** Every order of created / rescheduled / cancelled, each delivered three times. */
const ORDERS: Array<Array<keyof typeof FIXTURES>> = [
  ['created', 'rescheduled', 'cancelled'],
  ['created', 'cancelled', 'rescheduled'],
  ['rescheduled', 'created', 'cancelled'],
  ['rescheduled', 'cancelled', 'created'],
  ['cancelled', 'created', 'rescheduled'],
  ['cancelled', 'rescheduled', 'created'],
];

describe('the real-format payloads', () => {
  it.each(ORDERS.map((order, i) => [order.join(' > '), order, i] as const))(
    'end in the same state when delivered three times in the order %s',
    async (_name, order, i) => {
      // Each order gets its own booking chain (uids are unique in Cal.com and here).
      const rename = (body: string) =>
        body
          .replaceAll(FIRST_UID, `${FIRST_UID.slice(0, -2)}a${i}`)
          .replaceAll(SECOND_UID, `${SECOND_UID.slice(0, -2)}b${i}`);
      const ids: string[] = [];
      for (const name of order) {
        for (let copy = 0; copy < 3; copy++) {
          const res = await deliver(rename(FIXTURES[name]));
          expect(res.statusCode).toBe(200);
          ids.push(res.json().id);
        }
      }
      expect(new Set(ids).size).toBe(3);
      await settled([...new Set(ids)]);
      const chain = await gw.database.db
        .select()
        .from(appointments)
        .where(eq(appointments.calcomIcalUid, `${FIRST_UID.slice(0, -2)}a${i}@Cal.com`));
      expect(chain).toHaveLength(1);
      const [appointment] = chain;
      expect(appointment).toMatchObject({
        status: 'cancelled',
        calcomBookingUid: `${SECOND_UID.slice(0, -2)}b${i}`,
        source: 'calcom',
      });
      expect(appointment?.startsAt.toISOString()).toBe('2026-03-19T13:00:00.000Z');
      expect(appointment?.endsAt.toISOString()).toBe('2026-03-19T13:30:00.000Z');
    },
  );

  it('records each applied change once in the history', async () => {
    // A chain of its own, each delivery sent twice.
    const rename = (body: string) =>
      body
        .replaceAll(FIRST_UID, `${FIRST_UID.slice(0, -2)}hh`)
        .replaceAll(SECOND_UID, `${SECOND_UID.slice(0, -2)}hh`);
    const ids: string[] = [];
    for (const name of ['created', 'rescheduled', 'cancelled'] as const) {
      for (let copy = 0; copy < 2; copy++) ids.push((await deliver(rename(FIXTURES[name]))).json().id);
    }
    await settled([...new Set(ids)]);
    const [appointment] = await gw.database.db
      .select()
      .from(appointments)
      .where(eq(appointments.calcomIcalUid, `${FIRST_UID.slice(0, -2)}hh@Cal.com`));
    const history = await gw.database.db
      .select({ event: appointmentHistory.event, to: appointmentHistory.toStatus })
      .from(appointmentHistory)
      .where(eq(appointmentHistory.appointmentId, appointment?.id as string))
      .orderBy(appointmentHistory.id);
    // Deliveries are processed concurrently: the reschedule may be applied, or be stale by then.
    const events = history.map((h) => h.event);
    expect(events[0]).toBe('recorded_from_calcom');
    expect(events.at(-1)).toBe('cancelled');
    expect(new Set(events).size).toBe(events.length);
  });
});

/**
 * The triggers of bookings that need the host's confirmation and of meetings that took place,
 * built from the real BOOKING_CREATED payload as Cal.com varies it: `BOOKING_REQUESTED` carries
 * status PENDING, `BOOKING_REJECTED` status REJECTED with the host's reason, and `MEETING_ENDED`
 * is flat (the booking's fields at the top level, no `payload`).
 */
function confirmationFlow(tag: string) {
  const uid = `${FIRST_UID.slice(0, -4)}${tag}`;
  const base = JSON.parse(FIXTURES.created.replaceAll(FIRST_UID, uid)) as {
    createdAt: string;
    payload: Record<string, unknown>;
  };
  const nested = (triggerEvent: string, payload: Record<string, unknown>) =>
    JSON.stringify({ triggerEvent, createdAt: base.createdAt, payload: { ...base.payload, ...payload } });
  return {
    uid,
    requested: nested('BOOKING_REQUESTED', { status: 'PENDING', requiresConfirmation: true }),
    confirmed: nested('BOOKING_CREATED', { status: 'ACCEPTED', requiresConfirmation: true }),
    rejected: nested('BOOKING_REJECTED', {
      status: 'REJECTED',
      requiresConfirmation: true,
      rejectionReason: 'Fully booked that week',
    }),
    ended: JSON.stringify({ triggerEvent: 'MEETING_ENDED', createdAt: base.createdAt, ...base.payload }),
  };
}

describe('bookings that need confirmation, and meetings that ended', () => {
  const apply = async (body: string) => {
    const res = await deliver(body);
    expect(res.statusCode, res.body).toBe(200);
    await settled([res.json().id]);
    const [inbox] = await gw.database.db
      .select()
      .from(webhookInbox)
      .where(eq(webhookInbox.id, res.json().id));
    return inbox;
  };
  const appointmentOf = async (uid: string) => {
    const [row] = await gw.database.db
      .select()
      .from(appointments)
      .where(eq(appointments.calcomBookingUid, uid));
    const history =
      row === undefined
        ? []
        : await gw.database.db
            .select({
              event: appointmentHistory.event,
              from: appointmentHistory.fromStatus,
              to: appointmentHistory.toStatus,
              actor: appointmentHistory.actor,
            })
            .from(appointmentHistory)
            .where(eq(appointmentHistory.appointmentId, row.id))
            .orderBy(appointmentHistory.id);
    return { row, history };
  };

  it('records BOOKING_REQUESTED as a requested appointment, confirmed by the BOOKING_CREATED that follows', async () => {
    const flow = confirmationFlow('rq01');
    expect((await apply(flow.requested))?.status).toBe('processed');
    const requested = await appointmentOf(flow.uid);
    expect(requested.row).toMatchObject({ status: 'requested', source: 'calcom', calcomBookingId: 9182734 });
    expect(requested.history).toEqual([
      { event: 'recorded_from_calcom', from: null, to: 'requested', actor: 'webhook' },
    ]);

    await apply(flow.confirmed);
    const confirmed = await appointmentOf(flow.uid);
    expect(confirmed.row?.status).toBe('confirmed');
    expect(confirmed.row?.id).toBe(requested.row?.id);
    expect(confirmed.history.at(-1)).toEqual({
      event: 'confirmed',
      from: 'requested',
      to: 'confirmed',
      actor: 'webhook',
    });
    // A late copy of the request changes nothing.
    const late = await deliver(flow.requested.replace('"PENDING"', '"pending"'));
    await settled([late.json().id]);
    const after = await appointmentOf(flow.uid);
    expect(after.row?.status).toBe('confirmed');
    expect(after.history).toHaveLength(2);
  });

  it('marks a requested appointment rejected on BOOKING_REJECTED, whichever arrives first', async () => {
    const flow = confirmationFlow('rj01');
    await apply(flow.requested);
    await apply(flow.rejected);
    const rejected = await appointmentOf(flow.uid);
    expect(rejected.row).toMatchObject({ status: 'rejected', source: 'calcom' });
    expect(rejected.history).toEqual([
      { event: 'recorded_from_calcom', from: null, to: 'requested', actor: 'webhook' },
      { event: 'rejected', from: 'requested', to: 'rejected', actor: 'webhook' },
    ]);

    // Out of order: the rejection first, then the request it answers.
    const reversed = confirmationFlow('rj02');
    await apply(reversed.rejected);
    await apply(reversed.requested);
    const late = await appointmentOf(reversed.uid);
    expect(late.row?.status).toBe('rejected');
    expect(late.history).toEqual([
      { event: 'recorded_from_calcom', from: null, to: 'rejected', actor: 'webhook' },
    ]);
  });

  it('completes a confirmed appointment on the flat MEETING_ENDED, and only a confirmed one', async () => {
    const flow = confirmationFlow('me01');
    await apply(flow.confirmed);
    expect((await appointmentOf(flow.uid)).row?.status).toBe('confirmed');
    expect((await apply(flow.ended))?.status).toBe('processed');
    const ended = await appointmentOf(flow.uid);
    expect(ended.row?.status).toBe('completed');
    expect(ended.history).toEqual([
      { event: 'recorded_from_calcom', from: null, to: 'confirmed', actor: 'webhook' },
      { event: 'completed', from: 'confirmed', to: 'completed', actor: 'webhook' },
    ]);

    // A meeting that "ended" after it was rejected stays rejected.
    const refused = confirmationFlow('me02');
    await apply(refused.requested);
    await apply(refused.rejected);
    await apply(refused.ended);
    const still = await appointmentOf(refused.uid);
    expect(still.row?.status).toBe('rejected');
    expect(still.history.map((h) => h.event)).toEqual(['recorded_from_calcom', 'rejected']);
  });
});

describe('changes made in Cal.com', () => {
  beforeAll(async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/health/calcom' });
    expect(res.json().webhook_registered).toBe(false);
    // The sandbox delivers to the gateway once the subscription exists.
    const lines: string[] = [];
    const context = { runtime: gw.runtime(), out: (line: string) => lines.push(line) };
    expect(await registerWebhooksNow(context)).toBe(0);
    expect(await registerWebhooksNow(context)).toBe(0);
    expect(lines.join('\n')).toMatch(/created .*\/api\/webhooks\/calcom[\s\S]*unchanged/);
    const [subscription] = gw.sandbox.control.state().subscriptions as Array<{ triggers: string[] }>;
    expect(subscription?.triggers).toContain('BOOKING_CANCELLED');
  });

  const book = async (serviceId: string, start: string, email: string) => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: { serviceId, start, timeZone: 'Europe/Berlin', customer: { name: 'Robin', email } },
    });
    expect(res.statusCode).toBe(201);
    return res.json();
  };
  const row = async (id: string) =>
    (await gw.database.db.select().from(appointments).where(eq(appointments.id, id)))[0];

  it('cancels our appointment when it is cancelled in Cal.com', async () => {
    const created = await book(
      gw.company.serviceIds[0] as string,
      berlin(testDay(), '10:00'),
      'cal-cancel@example.org',
    );
    gw.sandbox.control.cancelBookingDirect(created.calcom.bookingUid, 'Called the salon');
    await eventually(async () => ((await row(created.id))?.status === 'cancelled' ? true : undefined));
    const view = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/bookings/${created.id}`,
      headers: auth(gw.company.token),
    });
    expect(view.json().history.at(-1)).toMatchObject({ event: 'cancelled', actor: 'webhook' });
  });

  it('follows a reschedule made in Cal.com to the new uid and time', async () => {
    const day = testDay();
    const created = await book(
      gw.company.serviceIds[0] as string,
      berlin(day, '11:00'),
      'cal-move@example.org',
    );
    const moved = gw.sandbox.control.rescheduleBookingDirect(created.calcom.bookingUid, berlin(day, '15:00'));
    await eventually(async () =>
      (await row(created.id))?.calcomBookingUid === moved.uid ? true : undefined,
    );
    const after = await row(created.id);
    expect(after?.status).toBe('confirmed');
    expect(after?.startsAt.toISOString()).toBe(new Date(berlin(day, '15:00')).toISOString());
  });

  it('records a booking made directly in Cal.com as a new appointment', async () => {
    const made = gw.sandbox.control.createBookingDirect({
      eventTypeId: HAIRCUT.billie,
      start: berlin(testDay(), '12:00'),
      attendee: { name: 'Walk In', email: 'walk-in@example.org', timeZone: 'Europe/Berlin' },
    });
    const found = await eventually(async () => {
      const [r] = await gw.database.db
        .select()
        .from(appointments)
        .where(eq(appointments.calcomBookingUid, made.uid));
      return r;
    });
    expect(found).toMatchObject({
      status: 'confirmed',
      source: 'calcom',
      serviceId: gw.company.serviceIds[0],
    });
  });

  it('cancels every segment of a composite when one segment is cancelled in Cal.com', async () => {
    const created = await book(
      gw.company.serviceIds[2] as string,
      berlin(testDay(), '09:00'),
      'cal-composite@example.org',
    );
    const segments = await gw.database.db
      .select()
      .from(appointmentSegments)
      .where(and(eq(appointmentSegments.appointmentId, created.id)));
    expect(segments).toHaveLength(2);
    gw.sandbox.control.cancelBookingDirect(segments[1]?.calcomBookingUid as string, 'Stylist is ill');
    await eventually(
      async () => ((await row(created.id))?.status === 'cancelled' ? true : undefined),
      20_000,
    );
    const inSandbox = gw.sandbox.control
      .bookings()
      .filter((b) => b.metadata.calgateAppointmentId === created.id);
    expect(inSandbox).toHaveLength(2);
    expect(inSandbox.every((b) => b.status === 'cancelled')).toBe(true);
  });
});

describe('the webhook receiver without Postgres', () => {
  it('keeps a verified delivery in Redis, answers 200, and stores and applies it once PostgreSQL is back', async () => {
    const down = await startGateway({
      worker: false,
      env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/unreachable' },
    });
    try {
      const res = await down.app.inject({
        method: 'POST',
        url: '/api/webhooks/calcom',
        headers: {
          'content-type': 'application/json',
          'x-cal-signature-256': signCalcomPayload(FIXTURES.rescheduled, SECRET),
        },
        payload: FIXTURES.rescheduled,
      });
      // Cal.com does not send a delivery again: a 503 would lose it.
      expect(res.statusCode, res.body).toBe(200);
      const answered = res.json() as { id: string; duplicate: boolean };
      expect(answered.duplicate).toBe(false);
      const unsigned = await down.app.inject({
        method: 'POST',
        url: '/api/webhooks/calcom',
        headers: { 'content-type': 'application/json' },
        payload: FIXTURES.rescheduled,
      });
      expect(unsigned.statusCode).toBe(401);

      // The worker's sweeper once PostgreSQL is back: this gateway's database, `down`'s Redis keys.
      const spilled = { ...gw.runtime(), redisPrefix: down.config.redis.queuePrefix };
      expect(await drainWebhookSpill(spilled)).toBe(1);
      expect(await drainWebhookSpill(spilled)).toBe(0);
      const [row] = await eventually(async () => {
        const rows = await gw.database.db.select().from(webhookInbox).where(eq(webhookInbox.id, answered.id));
        return rows[0]?.status === 'processed' ? rows : undefined;
      });
      expect(row?.payload).toEqual(JSON.parse(FIXTURES.rescheduled));
    } finally {
      await down.close();
    }
  });

  it('answers 503 when Redis cannot keep it either', async () => {
    const unavailable = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const spills: string[] = [];
    const deps = (redisKeeps: boolean) =>
      ({
        db: {
          execute: async () => {
            throw unavailable();
          },
        },
        redis: {
          rpush: async (_key: string, item: string) => {
            if (!redisKeeps) throw new Error('Connection is closed.');
            spills.push(item);
            return 1;
          },
        },
        redisPrefix: 'spill-test',
        keyring: gw.runtime().keyring,
        counters: { increment: async () => undefined },
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        queues: { enqueue: async () => undefined },
      }) as unknown as Parameters<typeof acceptWebhook>[0];
    const delivery = {
      rawBody: Buffer.from(FIXTURES.created),
      signature: signCalcomPayload(FIXTURES.created, SECRET),
      companyId: undefined,
    };
    const secrets = { defaultSecret: SECRET, negativeCacheMs: 60_000 };
    await expect(acceptWebhook(deps(false), secrets, delivery)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect(spills).toEqual([]);
    const kept = await acceptWebhook(deps(true), secrets, delivery);
    expect(spills).toHaveLength(1);
    expect(JSON.parse(spills[0] as string)).toMatchObject({ id: kept.inboxId, trigger: 'BOOKING_CREATED' });
  });
});
