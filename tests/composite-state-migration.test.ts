import { readFileSync } from 'node:fs';
import { appointmentHistory, appointments, customers, MIGRATIONS_FOLDER, newId } from '@calgate/db';
import { createTestDatabase, seedCompany, type TestDatabase, testDay } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Migration 0010 moved a composite's current generation and the pending reschedule out of
// appointment_history.data into columns; its hand-written part fills them from the history that
// existing databases hold. Here that part runs again over rows written the old way.
const MIGRATION = readFileSync(`${MIGRATIONS_FOLDER}/0010_composite_state.sql`, 'utf8');
const FILL = MIGRATION.split('--> statement-breakpoint').filter((s) => /^\s*(--.*\n\s*)*UPDATE/.test(s));

let t: TestDatabase;
let company: { companyId: string; serviceIds: string[] };
let customerId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  company = await seedCompany(t.db, {
    staff: [{ name: 'Ana' }],
    services: [
      {
        name: 'Cut',
        segments: [{ name: 'Cut', durationMinutes: 60, eventTypes: [{ staff: 0, eventTypeId: 1 }] }],
      },
    ],
  });
  const [customer] = await t.db
    .insert(customers)
    .values({ id: newId('cus'), companyId: company.companyId, name: 'Old Rows', email: 'old@example.org' })
    .returning();
  customerId = customer?.id as string;
});
afterAll(() => t.drop());

type Event = typeof appointmentHistory.$inferInsert;

/** An appointment as the old code left it: the state only in its history rows, in this order. */
async function written(status: 'confirmed' | 'rescheduling', history: Array<Omit<Event, 'appointmentId'>>) {
  const id = newId('apt');
  const start = new Date(`${testDay()}T09:00:00Z`);
  await t.db.insert(appointments).values({
    id,
    companyId: company.companyId,
    serviceId: company.serviceIds[0] as string,
    customerId,
    status,
    startsAt: start,
    endsAt: new Date(start.getTime() + 3_600_000),
    timezone: 'Europe/Berlin',
  });
  for (const [i, row] of history.entries()) {
    await t.db
      .insert(appointmentHistory)
      .values({ ...row, appointmentId: id, createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)) });
  }
  return id;
}

const state = async (id: string) =>
  (
    await t.db
      .select({
        generation: appointments.currentGeneration,
        requestId: appointments.rescheduleRequestId,
        start: appointments.rescheduleStart,
        requestGeneration: appointments.rescheduleGeneration,
      })
      .from(appointments)
      .where(eq(appointments.id, id))
  )[0];

describe('migration 0010 on appointments written before it', () => {
  it('takes the current generation from the latest confirmation and the latest reschedule request', async () => {
    const rescheduled = await written('confirmed', [
      { event: 'confirmed', actor: 'worker', data: { generation: 0 } },
      {
        event: 'reschedule_requested',
        actor: 'api',
        data: { requestId: 'rsq_1', start: '2026-01-02T10:00:00.000Z', generation: 1 },
      },
      { event: 'rescheduled', actor: 'worker', data: { generation: 1, requestId: 'rsq_1' } },
      {
        event: 'reschedule_requested',
        actor: 'api',
        data: { requestId: 'rsq_2', start: '2026-01-03T10:00:00.000Z', generation: 2 },
      },
      { event: 'reschedule_failed', actor: 'worker', data: { generation: 2, requestId: 'rsq_2' } },
    ]);
    const pendingSimple = await written('rescheduling', [
      { event: 'confirmed', actor: 'worker', data: {} },
      {
        event: 'reschedule_requested',
        actor: 'api',
        data: { requestId: 'rsq_3', start: '2026-01-04T08:30:00.000Z', timeZone: 'UTC' },
      },
    ]);
    const untouched = await written('confirmed', [{ event: 'created', actor: 'api', data: {} }]);
    for (const statement of FILL) await t.sql.unsafe(statement);

    expect(FILL).toHaveLength(2);
    expect(await state(rescheduled)).toEqual({
      generation: 1,
      requestId: 'rsq_2',
      start: new Date('2026-01-03T10:00:00.000Z'),
      requestGeneration: 2,
    });
    expect(await state(pendingSimple)).toEqual({
      generation: 0,
      requestId: 'rsq_3',
      start: new Date('2026-01-04T08:30:00.000Z'),
      requestGeneration: null,
    });
    expect(await state(untouched)).toEqual({
      generation: 0,
      requestId: null,
      start: null,
      requestGeneration: null,
    });
  });
});
