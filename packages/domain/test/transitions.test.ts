import { appointmentHistory, appointments, createDb, customers, newId } from '@calgate/db';
import { createTestDatabase, seedCompany, type TestDatabase } from '@calgate/testkit';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transition } from '../src/appointments/transitions.ts';

let t: TestDatabase;
let companyId: string;
let serviceId: string;
let customerId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  const company = await seedCompany(t.db, {
    staff: [{ name: 'Alex' }],
    services: [
      {
        name: 'Cut',
        segments: [{ name: 'Cut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: 101 }] }],
      },
    ],
  });
  companyId = company.companyId;
  serviceId = company.serviceIds[0] as string;
  customerId = newId('cus');
  await t.db.insert(customers).values({ id: customerId, companyId, name: 'C', email: 'c@example.org' });
});
afterAll(async () => {
  await t.drop();
});

async function pendingAppointment(): Promise<string> {
  const id = newId('apt');
  await t.db.insert(appointments).values({
    id,
    companyId,
    serviceId,
    customerId,
    status: 'pending',
    startsAt: new Date('2031-03-03T09:00:00Z'),
    endsAt: new Date('2031-03-03T09:30:00Z'),
    timezone: 'Europe/Berlin',
    metadata: { from: 'intake' },
  });
  return id;
}

const historyOf = (id: string) =>
  t.db
    .select()
    .from(appointmentHistory)
    .where(eq(appointmentHistory.appointmentId, id))
    .orderBy(asc(appointmentHistory.id));

describe('a state transition', () => {
  it('writes the new state, the given columns and one history row, or nothing from an unexpected state', async () => {
    const id = await pendingAppointment();
    // Every kind of column: text, integer, timestamp, null, boolean, jsonb.
    const set = {
      calcomBookingUid: 'uid-1',
      calcomBookingId: 42,
      cancelledAt: new Date('2031-03-01T12:34:56.789Z'),
      failureReason: null,
      needsAttention: true,
      metadata: { reason: 'a "quoted" value' },
    };
    const moved = await transition(t.db, {
      appointmentId: id,
      from: ['pending', 'rescheduling'],
      to: 'cancelled',
      event: 'cancelled',
      actor: 'worker',
      set,
      data: { why: 'test' },
    });
    expect(moved).toBe(true);
    const [row] = await t.db.select().from(appointments).where(eq(appointments.id, id));
    expect(row).toMatchObject({ ...set, status: 'cancelled', version: 1 });
    // From a state it does not expect: nothing written, not even history.
    const again = await transition(t.db, {
      appointmentId: id,
      from: ['pending'],
      to: 'confirmed',
      event: 'confirmed',
      actor: 'worker',
    });
    expect(again).toBe(false);
    const history = await historyOf(id);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      event: 'cancelled',
      fromStatus: 'pending',
      toStatus: 'cancelled',
      actor: 'worker',
      data: { why: 'test' },
    });
    const [after] = await t.db.select().from(appointments).where(eq(appointments.id, id));
    expect(after?.status).toBe('cancelled');
    expect(after?.version).toBe(1);
  });

  it('applies exactly one of several transitions waiting on the same row', async () => {
    const id = await pendingAppointment();
    const watcher = createDb(t.url, { max: 1 });
    const targets = ['confirmed', 'cancelled', 'failed'] as const;
    let pending: Promise<boolean[]> | undefined;
    try {
      // Another transaction holds the row; every transition queues behind it on the lock.
      await t.sql.begin(async (blocker) => {
        await blocker`select id from appointments where id = ${id} for update`;
        pending = Promise.all(
          targets.map((to) =>
            transition(t.db, { appointmentId: id, from: ['pending'], to, event: to, actor: 'worker' }),
          ),
        );
        let waiting = 0;
        while (waiting < targets.length) {
          const [row] = await watcher.sql<{ n: number }[]>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`;
          waiting = row?.n ?? 0;
        }
      });
    } finally {
      await watcher.close();
    }
    // Released unchanged: the first waiter applies, the others find the state moved on.
    const results = await (pending as Promise<boolean[]>);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = targets[results.indexOf(true)];
    const [row] = await t.db.select().from(appointments).where(eq(appointments.id, id));
    expect(row?.status).toBe(winner);
    expect(row?.version).toBe(1);
    const history = await historyOf(id);
    expect(history.map((h) => [h.fromStatus, h.toStatus])).toEqual([['pending', winner]]);
  });
});
