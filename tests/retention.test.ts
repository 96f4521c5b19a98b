import { purgeExpired } from '@calgate/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berlin, type Gateway, postBooking, startGateway, testDay } from './support/gateway.ts';

const KEEP_FOREVER = { webhookInboxDays: 0, appointmentHistoryDays: 0, holdDays: 0, outboundDays: 0 };

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ worker: false });
});
afterAll(async () => {
  await gw.close();
});

async function appointment(email: string): Promise<string> {
  const res = await postBooking(gw, {
    start: berlin(testDay(), '10:00'),
    customer: { name: 'Kept Or Not', email },
  });
  expect(res.statusCode).toBe(202);
  return res.json().id as string;
}

async function delivery(status: string, daysAgo: number): Promise<string> {
  const id = `whk_retention_${status}_${daysAgo}`;
  await gw.database.sql`
    insert into webhook_inbox (id, company_id, trigger_event, dedupe_key, payload, status, received_at)
    values (${id}, ${gw.company.companyId}, 'BOOKING_CREATED', ${id}, '{}'::jsonb, ${status},
            now() - make_interval(days => ${daysAgo}))`;
  return id;
}

describe('retention', () => {
  it('deletes finished deliveries and settled history past their days, and nothing else', async () => {
    const oldDone = await delivery('processed', 40);
    const oldIgnored = await delivery('ignored', 31);
    const oldFailed = await delivery('failed', 90);
    const oldWaiting = await delivery('received', 90);
    const recent = await delivery('processed', 2);

    // Three appointments, their history written by the intake: one ended two years ago (settled),
    // one as old but flagged for an operator, one still ahead.
    const ended = await appointment('ended@example.org');
    const flagged = await appointment('flagged@example.org');
    const ahead = await appointment('ahead@example.org');
    await gw.database.sql`
      update appointments set status = 'confirmed', needs_attention = (id = ${flagged}),
        starts_at = now() - interval '800 days', ends_at = now() - interval '800 days' + interval '30 minutes'
      where id in (${ended}, ${flagged})`;

    const result = await purgeExpired(gw.runtime(), {
      ...KEEP_FOREVER,
      webhookInboxDays: 30,
      appointmentHistoryDays: 730,
    });
    expect(result).toEqual({ webhookInbox: 2, appointmentHistory: 1, holds: 0, outboundEvents: 0 });

    const inbox = await gw.database.sql<
      { id: string }[]
    >`select id from webhook_inbox where id like 'whk_retention_%'`;
    expect(inbox.map((r) => r.id).sort()).toEqual([oldFailed, oldWaiting, recent].sort());
    expect(inbox.map((r) => r.id)).not.toContain(oldDone);
    expect(inbox.map((r) => r.id)).not.toContain(oldIgnored);
    const history = await gw.database.sql<{ appointment_id: string; n: number }[]>`
      select appointment_id, count(*)::int as n from appointment_history
      where appointment_id in (${ended}, ${flagged}, ${ahead}) group by appointment_id`;
    const counts = Object.fromEntries(history.map((h) => [h.appointment_id, h.n]));
    expect(counts[ended]).toBeUndefined();
    expect(counts[flagged]).toBe(1);
    expect(counts[ahead]).toBe(1);

    // Days of 0 keep everything.
    expect(await purgeExpired(gw.runtime(), KEEP_FOREVER)).toEqual({
      webhookInbox: 0,
      appointmentHistory: 0,
      holds: 0,
      outboundEvents: 0,
    });
  });

  it('deletes ended holds and delivered outbound events past their days', async () => {
    const [service] = await gw.database.sql<{ id: string }[]>`
      select id from services where company_id = ${gw.company.companyId} limit 1`;
    const pending = await appointment('pending-hold@example.org');
    const settled = await appointment('settled-hold@example.org');
    await gw.database.sql`update appointments set status = 'confirmed' where id = ${settled}`;
    const hold = async (
      name: string,
      status: string,
      daysAgo: number,
      appointmentId: string | null = null,
    ) => {
      const id = `hld_retention_${name}`;
      await gw.database.sql`
        insert into holds (id, company_id, service_id, status, starts_at, ends_at, timezone, expires_at, appointment_id)
        values (${id}, ${gw.company.companyId}, ${service?.id as string}, ${status},
                now() - make_interval(days => ${daysAgo}), now() - make_interval(days => ${daysAgo}) + interval '30 minutes',
                'Europe/Berlin', now() - make_interval(days => ${daysAgo}), ${appointmentId})`;
      return id;
    };
    const expired = await hold('expired', 'expired', 40);
    const usedSettled = await hold('used_settled', 'consumed', 40, settled);
    const usedPending = await hold('used_pending', 'consumed', 40, pending);
    const recent = await hold('recent', 'released', 3);

    const endpointId = 'obe_retention';
    await gw.database.sql`
      insert into outbound_endpoints (id, company_id, url, secret_encrypted)
      values (${endpointId}, ${gw.company.companyId}, 'https://crm.example.org/hook', 'sealed')`;
    const event = async (name: string, daysAgo: number, delivery: string | null) => {
      const id = `obv_retention_${name}`;
      await gw.database.sql`
        insert into outbound_events (id, company_id, appointment_id, type, data, created_at, relayed_at)
        values (${id}, ${gw.company.companyId}, ${settled}, 'appointment.confirmed', '{}'::jsonb,
                now() - make_interval(days => ${daysAgo}), now() - make_interval(days => ${daysAgo}))`;
      if (delivery !== null) {
        await gw.database.sql`
          insert into outbound_deliveries (id, event_id, endpoint_id, appointment_id, event_seq, status)
          select ${`obd_retention_${name}`}, id, ${endpointId}, appointment_id, seq, ${delivery}
          from outbound_events where id = ${id}`;
      }
      return id;
    };
    const delivered = await event('delivered', 40, 'delivered');
    const noEndpoint = await event('no_endpoint', 40, null);
    const failed = await event('failed', 40, 'failed');
    const waiting = await event('pending', 40, 'pending');
    const fresh = await event('fresh', 2, 'delivered');

    const result = await purgeExpired(gw.runtime(), { ...KEEP_FOREVER, holdDays: 30, outboundDays: 30 });
    expect(result).toMatchObject({ holds: 2, outboundEvents: 2 });
    const holds = await gw.database.sql<
      { id: string }[]
    >`select id from holds where id like 'hld_retention_%'`;
    expect(holds.map((h) => h.id).sort()).toEqual([usedPending, recent].sort());
    expect(holds.map((h) => h.id)).not.toContain(expired);
    expect(holds.map((h) => h.id)).not.toContain(usedSettled);
    const events = await gw.database.sql<{ id: string }[]>`
      select id from outbound_events where id like 'obv_retention_%'`;
    expect(events.map((e) => e.id).sort()).toEqual([failed, waiting, fresh].sort());
    expect(events.map((e) => e.id)).not.toContain(delivered);
    expect(events.map((e) => e.id)).not.toContain(noEndpoint);
    const [orphans] = await gw.database.sql<{ n: number }[]>`
      select count(*)::int as n from outbound_deliveries where id = 'obd_retention_delivered'`;
    expect(orphans?.n).toBe(0);
  });
});
