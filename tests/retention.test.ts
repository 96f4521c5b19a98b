import { purgeExpired } from '@calgate/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berlin, type Gateway, postBooking, startGateway, testDay } from './support/gateway.ts';

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

    const result = await purgeExpired(gw.runtime(), { webhookInboxDays: 30, appointmentHistoryDays: 730 });
    expect(result).toEqual({ webhookInbox: 2, appointmentHistory: 1 });

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
    expect(await purgeExpired(gw.runtime(), { webhookInboxDays: 0, appointmentHistoryDays: 0 })).toEqual({
      webhookInbox: 0,
      appointmentHistory: 0,
    });
  });
});
