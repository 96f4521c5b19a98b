import { appointmentHistory, appointments, customers, newId, staff } from '@calgate/db';
import { createTestDatabase, salonTime, seedCompany, type TestDatabase, testDay } from '@calgate/testkit';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appointmentView,
  getAppointmentView,
  loadAppointment,
  loadHistory,
} from '../src/appointments/views.ts';

let t: TestDatabase;
let companyId: string;
let otherCompanyId: string;
let serviceId: string;
let staffId: string;
let customerId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  const company = await seedCompany(t.db, {
    staff: [{ name: "Alex O'Neil", calcomUserId: 2 }],
    services: [
      {
        name: 'Cut',
        segments: [{ name: 'Cut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: 102 }] }],
      },
    ],
  });
  companyId = company.companyId;
  serviceId = company.serviceIds[0] as string;
  staffId = company.staffIds[0] as string;
  otherCompanyId = (await seedCompany(t.db, { staff: [], services: [] })).companyId;
  customerId = newId('cus');
  await t.db
    .insert(customers)
    .values({ id: customerId, companyId, name: 'Sam', email: 'sam@example.org', phone: '+4915112345678' });
});
afterAll(async () => {
  await t.drop();
});

/** The view as it was read before it became one statement: four drizzle queries. */
async function viewFromQueries(id: string) {
  const row = await loadAppointment(t.db, companyId, id);
  const [customer] = await t.db.select().from(customers).where(eq(customers.id, row.customerId));
  const member =
    row.staffId === null ? undefined : (await t.db.select().from(staff).where(eq(staff.id, row.staffId)))[0];
  return appointmentView(
    row,
    {
      id: row.customerId,
      name: customer?.name ?? '',
      email: customer?.email ?? null,
      phone: customer?.phone ?? null,
    },
    member === undefined ? null : { id: member.id, name: member.name },
    await loadHistory(t.db, row.id),
  );
}

/** An appointment of the company at `time` on the test day (30 minutes), with the given columns. */
async function appointmentAt(
  time: string,
  columns: Partial<typeof appointments.$inferInsert> & { status: 'pending' | 'failed' },
): Promise<string> {
  const id = newId('apt');
  const start = new Date(salonTime(testDay(), time));
  await t.db.insert(appointments).values({
    id,
    companyId,
    serviceId,
    customerId,
    startsAt: start,
    endsAt: new Date(start.getTime() + 30 * 60_000),
    timezone: 'Europe/Berlin',
    ...columns,
  });
  return id;
}

describe('the appointment view, read in one statement', () => {
  it('is what the row, its customer, its staff member and its history say, in history order', async () => {
    const id = await appointmentAt('10:00', {
      staffId,
      status: 'failed',
      failureCode: 'SLOT_UNAVAILABLE',
      failureReason: 'taken',
      calcomBookingId: 7,
      metadata: { ref: 'x', nested: { n: 1 } },
      notes: "it's fine",
    });
    const at = (iso: string) => new Date(iso);
    await t.db.insert(appointmentHistory).values([
      {
        appointmentId: id,
        event: 'created',
        toStatus: 'pending',
        actor: 'api',
        createdAt: at('2026-01-01T10:00:00.100Z'),
      },
      {
        appointmentId: id,
        event: 'failed',
        fromStatus: 'pending',
        toStatus: 'failed',
        actor: 'worker',
        data: { code: 'SLOT_UNAVAILABLE', alternatives: [{ start: 's', end: 'e', staff: [staffId] }] },
        createdAt: at('2026-01-01T10:00:00.200Z'),
      },
    ]);
    // A third row with microseconds, as PostgreSQL's now() writes them.
    await t.db.execute(sql`
      insert into appointment_history (appointment_id, event, actor, data, created_at)
      values (${id}, 'needs_attention', 'operator', '{}', '2026-01-01 10:00:00.200999+00')`);
    const view = await getAppointmentView(t.db, companyId, id);
    expect(view).toEqual(await viewFromQueries(id));
    expect(view.history.map((h) => h.event)).toEqual(['created', 'failed', 'needs_attention']);
    expect(view.history[2]?.at).toBe('2026-01-01T10:00:00.200Z');
    expect(view.failure?.alternatives).toHaveLength(1);
    expect(view.staff).toEqual({ id: staffId, name: "Alex O'Neil" });
  });

  it('shows no staff member before one is chosen, and no booking of another company', async () => {
    const id = await appointmentAt('11:00', { status: 'pending' });
    const view = await getAppointmentView(t.db, companyId, id);
    expect(view).toEqual(await viewFromQueries(id));
    expect(view.staff).toBeNull();
    expect(view.history).toEqual([]);
    await expect(getAppointmentView(t.db, otherCompanyId, id)).rejects.toMatchObject({
      code: 'BOOKING_NOT_FOUND',
    });
  });
});
