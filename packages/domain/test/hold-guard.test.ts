import { appointments, customers, holdSegments, holds, newId } from '@calgate/db';
import { createTestDatabase, salonTime, seedCompany, type TestDatabase, testDay } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkContext } from '../src/appointments/work-context.ts';
import { loadWorkForSend } from '../src/bookings/send-claim.ts';
import { assertNotHeldForBooking } from '../src/holds/guard.ts';

let t: TestDatabase;
let companyId: string;
let serviceId: string;
let customerId: string;
/** Alex and Alex's second row (another company's staff row of the same Cal.com user), and Billie. */
let alex: string;
let alexAgain: string;
let billie: string;
const day = testDay();
const start = new Date(salonTime(day, '10:00'));
const end = new Date(salonTime(day, '10:30'));

beforeAll(async () => {
  t = await createTestDatabase();
  const company = await seedCompany(t.db, {
    staff: [
      { name: 'Alex', calcomUserId: 2 },
      { name: 'Alex (second row)', calcomUserId: 2 },
      { name: 'Billie', calcomUserId: 3 },
    ],
    services: [
      {
        name: 'Cut',
        segments: [{ name: 'Cut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: 102 }] }],
      },
    ],
  });
  companyId = company.companyId;
  serviceId = company.serviceIds[0] as string;
  [alex, alexAgain, billie] = company.staffIds as [string, string, string];
  customerId = newId('cus');
  await t.db.insert(customers).values({ id: customerId, companyId, name: 'C', email: 'c@example.org' });
});
afterAll(async () => {
  await t.drop();
});

async function pendingAppointment(staffId?: string, at = start): Promise<string> {
  const id = newId('apt');
  await t.db.insert(appointments).values({
    id,
    companyId,
    serviceId,
    customerId,
    staffId: staffId ?? null,
    status: 'pending',
    startsAt: at,
    endsAt: new Date(at.getTime() + 30 * 60_000),
    timezone: 'Europe/Berlin',
    metadata: { ref: 'x' },
    notes: "it's fine",
  });
  return id;
}

const sentAt = async (id: string) =>
  (await t.db.select({ at: appointments.bookingSentAt }).from(appointments).where(eq(appointments.id, id)))[0]
    ?.at;

async function hold(input: {
  staffId: string;
  status: 'active' | 'consumed';
  expiresInMs?: number;
  appointmentId?: string;
  from?: Date;
}): Promise<void> {
  const id = newId('hld');
  const from = input.from ?? start;
  const to = new Date(from.getTime() + 30 * 60_000);
  await t.db.insert(holds).values({
    id,
    companyId,
    serviceId,
    status: input.status,
    startsAt: from,
    endsAt: to,
    timezone: 'Europe/Berlin',
    expiresAt: new Date(Date.now() + (input.expiresInMs ?? 300_000)),
    appointmentId: input.appointmentId ?? null,
  });
  await t.db.insert(holdSegments).values({
    id: newId('hsg'),
    holdId: id,
    position: 0,
    staffId: input.staffId,
    calcomEventTypeId: 102,
    startsAt: from,
    endsAt: to,
  });
}

const check = (staffId: string, appointmentId: string) =>
  assertNotHeldForBooking(t.db, { staffId, start, end, appointmentId });

describe('the booking job guard against held time', () => {
  it('lets a booking through when nobody holds the time, and refuses it under an active hold', async () => {
    const appointmentId = await pendingAppointment();
    await expect(check(billie, appointmentId)).resolves.toBeUndefined();
    await hold({ staffId: billie, status: 'active', from: new Date(start.getTime() + 15 * 60_000) });
    await expect(check(billie, appointmentId)).rejects.toMatchObject({ code: 'SLOT_HELD' });
  });

  it('sees a hold on another staff row of the same person (the same Cal.com user)', async () => {
    const appointmentId = await pendingAppointment();
    await hold({ staffId: alexAgain, status: 'active' });
    await expect(check(alex, appointmentId)).rejects.toMatchObject({ code: 'SLOT_HELD' });
  });

  it('ignores an expired hold and the hold its own booking consumed, not one another pending booking did', async () => {
    const day2 = new Date(start.getTime() + 2 * 3_600_000);
    const own = await pendingAppointment();
    const other = await pendingAppointment();
    const at = (id: string) =>
      assertNotHeldForBooking(t.db, {
        staffId: billie,
        start: day2,
        end: new Date(day2.getTime() + 30 * 60_000),
        appointmentId: id,
      });
    await hold({ staffId: billie, status: 'active', expiresInMs: -1_000, from: day2 });
    await hold({ staffId: billie, status: 'consumed', appointmentId: own, from: day2 });
    await expect(at(own)).resolves.toBeUndefined();
    await expect(at(other)).rejects.toMatchObject({ code: 'SLOT_HELD' });
  });

  it('passes what it is given as values, never as SQL', async () => {
    const appointmentId = await pendingAppointment();
    await expect(check("x' or '1'='1", appointmentId)).resolves.toBeUndefined();
    await expect(check(billie, "apt_'; drop table holds; --")).rejects.toMatchObject({ code: 'SLOT_HELD' });
    expect(await t.db.select().from(holds)).not.toHaveLength(0);
  });
});

describe('the at-most-once marker of a simple booking (booking_sent_at)', () => {
  // An hour of its own per case: the holds of one case do not reach another.
  const hour = (n: number) => new Date(start.getTime() + (4 + n) * 3_600_000);

  it('is recorded with the hold check when the time is free, and not when it is held', async () => {
    const free = await pendingAppointment(undefined, hour(0));
    const window = { start: hour(0), end: new Date(hour(0).getTime() + 30 * 60_000) };
    await assertNotHeldForBooking(t.db, { staffId: billie, ...window, appointmentId: free, markSent: true });
    expect(await sentAt(free)).toBeInstanceOf(Date);

    const blocked = await pendingAppointment(undefined, hour(0));
    await hold({ staffId: billie, status: 'active', from: hour(0) });
    await expect(
      assertNotHeldForBooking(t.db, { staffId: billie, ...window, appointmentId: blocked, markSent: true }),
    ).rejects.toMatchObject({ code: 'SLOT_HELD' });
    expect(await sentAt(blocked)).toBeNull();
  });

  it('rides with the context read in one round trip: the same context, the check and the marker', async () => {
    const id = await pendingAppointment(billie, hour(1));
    const loaded = await loadWorkForSend(t.db, id);
    // What the drizzle query of the context reads, column for column and type for type.
    const expected = await loadWorkContext(t.db, id);
    expect(loaded?.work).toEqual({
      ...expected,
      appointment: { ...expected?.appointment, bookingSentAt: null },
    });
    expect(loaded?.work.appointment.startsAt).toBeInstanceOf(Date);
    expect(loaded?.work.appointment.metadata).toEqual({ ref: 'x' });
    expect(loaded).toMatchObject({ claim: 'marked', markedBefore: false });
    expect(await sentAt(id)).toBeInstanceOf(Date);
    // A later run finds the marker (and looks in Cal.com before it sends again).
    expect(await loadWorkForSend(t.db, id)).toMatchObject({ claim: 'marked', markedBefore: true });
  });

  it('finds held time of the same person without marking, and leaves an unnamed staff member unchecked', async () => {
    const held = await pendingAppointment(alex, hour(2));
    await hold({ staffId: alexAgain, status: 'active', from: hour(2) });
    expect(await loadWorkForSend(t.db, held)).toMatchObject({ claim: 'held', markedBefore: false });
    expect(await sentAt(held)).toBeNull();

    const anyone = await pendingAppointment(undefined, hour(3));
    expect(await loadWorkForSend(t.db, anyone)).toMatchObject({ claim: 'unchecked' });
    expect(await sentAt(anyone)).toBeNull();
    expect(await loadWorkForSend(t.db, 'apt_missing')).toBeUndefined();
  });
});
