import { createBudget } from '@calgate/budget';
import { keyFingerprint } from '@calgate/calcom';
import { customers } from '@calgate/db';
import { sweepExpiredHolds } from '@calgate/domain';
import { DEMO_API_KEY } from '@calgate/sandbox';
import { seedCompany } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

// Holds may be as short as one second here, so expiry is seen without waiting minutes. The periodic
// sweep is put off for an hour: the test of the sweeper runs it by hand, and a periodic one running
// at the same moment would release the hold first.
let gw: Gateway;
let haircut: string;
let threeSegments: string;
let alex: string;
beforeAll(async () => {
  gw = await startGateway({ env: { HOLD_MIN_TTL_SECONDS: '1', SWEEP_INTERVAL_SECONDS: '3600' } });
  haircut = gw.company.serviceIds[0] as string;
  threeSegments = gw.company.serviceIds[1] as string;
  alex = gw.company.staffIds[0] as string;
});
afterAll(async () => {
  await gw.close();
});

interface HoldBody {
  serviceId?: string;
  start?: string;
  timeZone?: string;
  staffId?: string;
  ttlSeconds?: number;
}

const hold = (body: HoldBody, token = gw.company.token, headers: Record<string, string> = {}) =>
  gw.app.inject({
    method: 'POST',
    url: '/api/v2/holds',
    headers: auth(token, headers),
    payload: { timeZone: 'Europe/Berlin', ...body },
  });
/** A hold asked for with an Idempotency-Key. */
const holdWithKey = (key: string, body: HoldBody) => hold(body, gw.company.token, { 'idempotency-key': key });
const getHold = (id: string, token = gw.company.token) =>
  gw.app.inject({ method: 'GET', url: `/api/v2/holds/${id}`, headers: auth(token) });
const releaseHold = (id: string) =>
  gw.app.inject({ method: 'DELETE', url: `/api/v2/holds/${id}`, headers: auth(gw.company.token) });
const book = (
  body: { serviceId: string; start: string; staffId?: string; holdId?: string },
  email: string,
  token = gw.company.token,
) =>
  gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(token, { prefer: 'wait=25' }),
    payload: { timeZone: 'Europe/Berlin', customer: { name: 'Dana Client', email }, ...body },
  });
const availableStarts = async (serviceId: string, day: string, staffId?: string) => {
  const res = await gw.app.inject({
    method: 'GET',
    url: `/api/v2/services/${serviceId}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin${
      staffId === undefined ? '' : `&staffId=${staffId}`
    }`,
    headers: auth(gw.company.token),
  });
  expect(res.statusCode).toBe(200);
  return (res.json().slots as Array<{ start: string }>).map((s) => s.start);
};
const sandboxReservations = () =>
  (gw.sandbox.control.state().reservations as Array<{
    uid: string;
    eventTypeId: number;
    slotStart: number;
  }>) ?? [];
const sandboxBookingsAt = (eventTypeId: number, start: string) =>
  gw.sandbox.control
    .bookings()
    .filter(
      (b) => b.eventTypeId === eventTypeId && b.start === Date.parse(start) && b.status !== 'cancelled',
    );

describe('a hold', () => {
  it('is created with an expiry, reserved in Cal.com, read back, and released', async () => {
    const day = testDay();
    const start = berlin(day, '10:00');
    const before = Date.now();
    const created = await hold({ serviceId: haircut, start, staffId: alex });
    const after = Date.now();
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.id).toMatch(/^hld_/);
    expect(body.status).toBe('active');
    expect(body.start).toBe(start);
    expect(created.headers.location).toBe(`/api/v2/holds/${body.id}`);
    // The configured default: five minutes from the request.
    expect(Date.parse(body.expiresAt)).toBeGreaterThanOrEqual(before + 300_000);
    expect(Date.parse(body.expiresAt)).toBeLessThanOrEqual(after + 300_000);
    const [segment] = body.segments;
    expect(segment.staffId).toBe(alex);
    const reservation = sandboxReservations().find((r) => r.uid === segment.reservationUid);
    expect(reservation?.eventTypeId).toBe(HAIRCUT.alex);
    expect(reservation?.slotStart).toBe(Date.parse(start));

    const read = await getHold(body.id);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(body);
    expect(await availableStarts(haircut, day, alex)).not.toContain(start);

    const released = await releaseHold(body.id);
    expect(released.statusCode).toBe(200);
    expect(released.json().status).toBe('released');
    expect(released.json().segments[0].reservationUid).toBeNull();
    expect(sandboxReservations().some((r) => r.uid === segment.reservationUid)).toBe(false);
    expect(await availableStarts(haircut, day, alex)).toContain(start);
    // Releasing again changes nothing.
    const again = await releaseHold(body.id);
    expect(again.statusCode).toBe(200);
    expect(again.json().status).toBe('released');
  });

  it('is not seen by another company on the same Cal.com account, which cannot take its time either', async () => {
    // Companies on one Cal.com account own different event types (their scopes); this one books
    // the same stylist through an event type of its own.
    gw.sandbox.control.addEventType({
      id: 9102,
      ownerId: 1,
      hostIds: [2],
      title: 'Haircut (other salon)',
      slug: 'haircut-other-salon',
      lengthInMinutes: 30,
    });
    const other = await seedCompany(gw.database.db, {
      name: 'Other salon',
      staff: [{ name: 'Alex', calcomUserId: 2 }],
      services: [
        {
          name: 'Haircut',
          segments: [{ name: 'Haircut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: 9102 }] }],
        },
      ],
    });
    const created = await hold({ serviceId: haircut, start: berlin(testDay(), '11:00'), staffId: alex });
    expect(created.statusCode).toBe(201);
    const foreign = await getHold(created.json().id, other.token);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe('HOLD_NOT_FOUND');
    const foreignBooking = await book(
      {
        serviceId: other.serviceIds[0] as string,
        start: created.json().start,
        holdId: created.json().id,
      },
      'foreign@example.org',
      other.token,
    );
    expect(foreignBooking.statusCode).toBe(404);
    expect(foreignBooking.json().error).toMatchObject({
      code: 'HOLD_NOT_FOUND',
      details: { field: 'holdId' },
    });
    // Its Alex is the same Cal.com user: the held time is not its to book or hold either.
    const sameStylist = { serviceId: other.serviceIds[0] as string, start: created.json().start };
    const taken = await book(sameStylist, 'neighbour@example.org', other.token);
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('SLOT_HELD');
    // Refused by the statement that would have written it: no customer, no appointment.
    const neighbour = await gw.database.db
      .select({ id: customers.id })
      .from(customers)
      .where(eq(customers.email, 'neighbour@example.org'));
    expect(neighbour).toEqual([]);
    const heldAgain = await hold(sameStylist, other.token);
    expect(heldAgain.statusCode).toBe(409);
    // Cal.com's reservation already hides the slot from its availability.
    expect(['SLOT_HELD', 'SLOT_UNAVAILABLE']).toContain(heldAgain.json().error.code);
    expect((await releaseHold(created.json().id)).statusCode).toBe(200);
  });

  it('answers bad input with the field named', async () => {
    const start = berlin(testDay(), '12:00');
    const cases: Array<[HoldBody, number, string, string]> = [
      [{ start }, 400, 'VALIDATION_FAILED', 'serviceId'],
      [{ serviceId: haircut }, 400, 'VALIDATION_FAILED', 'start'],
      [{ serviceId: haircut, start: 'tomorrow at ten' }, 400, 'VALIDATION_FAILED', 'start'],
      [{ serviceId: haircut, start, ttlSeconds: 901 }, 400, 'VALIDATION_FAILED', 'ttlSeconds'],
      [{ serviceId: haircut, start, ttlSeconds: 1.5 }, 400, 'VALIDATION_FAILED', 'ttlSeconds'],
      [{ serviceId: haircut, start, timeZone: 'Mars/Olympus' }, 400, 'INVALID_TIMEZONE', 'timeZone'],
      [{ serviceId: haircut, start, staffId: 'stf_nobody' }, 404, 'STAFF_NOT_FOUND', 'staffId'],
      [{ serviceId: 'svc_nothing', start }, 404, 'SERVICE_NOT_FOUND', 'serviceId'],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await hold(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json().error.code).toBe(code);
      expect(res.json().error.message).toContain(field);
    }
    const unknown = await getHold('hld_unknown');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('HOLD_NOT_FOUND');
  });

  it('is given to one of two callers asking at once', async () => {
    const start = berlin(testDay(), '13:00');
    const answers = await Promise.all([
      hold({ serviceId: haircut, start, staffId: alex }),
      hold({ serviceId: haircut, start, staffId: alex }),
    ]);
    const statuses = answers.map((a) => a.statusCode).sort();
    expect(statuses).toEqual([201, 409]);
    const refused = answers.find((a) => a.statusCode === 409);
    expect(['SLOT_HELD', 'SLOT_UNAVAILABLE']).toContain(refused?.json().error.code);
    expect(sandboxReservations().filter((r) => r.slotStart === Date.parse(start))).toHaveLength(1);
  });
  it('when asked for at the same moment as 50 bookings, leaves the slot to exactly one of them', async () => {
    const start = berlin(testDay(), '10:30');
    const [held, ...racers] = await Promise.all([
      hold({ serviceId: haircut, start, staffId: alex }),
      ...Array.from({ length: 50 }, (_, i) =>
        book({ serviceId: haircut, start, staffId: alex }, `early${i}@example.org`),
      ),
    ]);
    const confirmed = racers.filter((r) => r.statusCode === 201);
    for (const racer of racers.filter((r) => r.statusCode !== 201)) {
      expect(racer.statusCode).toBe(409);
      expect(['SLOT_HELD', 'SLOT_UNAVAILABLE']).toContain(racer.json().error.code);
    }
    if (held?.statusCode === 201) {
      // The hold won: no racer got through, and the holder books it.
      expect(confirmed).toHaveLength(0);
      const holder = await book({ serviceId: haircut, start, holdId: held.json().id }, 'h@example.org');
      expect(holder.statusCode).toBe(201);
    } else {
      expect(held?.statusCode).toBe(409);
      expect(confirmed).toHaveLength(1);
    }
    expect(sandboxBookingsAt(HAIRCUT.alex, start)).toHaveLength(1);
  });

  it('is not given over a booking of ours still on its way to Cal.com', async () => {
    const start = berlin(testDay(), '11:30');
    gw.sandbox.control.injectFault({ operation: 'bookings.create', latencyMs: 1_500 });
    const pending = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token),
      payload: {
        serviceId: haircut,
        start,
        timeZone: 'Europe/Berlin',
        staffId: alex,
        customer: { name: 'Pat', email: 'pat@example.org' },
      },
    });
    expect(pending.statusCode).toBe(202);
    const refused = await hold({ serviceId: haircut, start, staffId: alex });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('SLOT_UNAVAILABLE');
    await eventually(
      async () => (sandboxBookingsAt(HAIRCUT.alex, start).length === 1 ? true : undefined),
      30_000,
    );
  });

  it('is not given over a time a reschedule of ours is moving onto', async () => {
    const day = testDay();
    const booked = await book(
      { serviceId: haircut, start: berlin(day, '09:00'), staffId: alex },
      'mover@example.org',
    );
    expect(booked.statusCode, booked.body).toBe(201);
    const target = berlin(day, '15:30');
    // Cal.com is slow to move it: the reschedule job has made its hold check and is sending.
    gw.sandbox.control.injectFault({ operation: 'bookings.reschedule', latencyMs: 4_000, count: 1 });
    const moving = gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${booked.json().id}`,
      headers: auth(gw.company.token, { prefer: 'wait=25' }),
      payload: { start: target, timeZone: 'Europe/Berlin' },
    });
    const queue = gw.runtime().queues.queue('bookings');
    await eventually(async () => {
      const jobs = await queue.getJobs(['active']);
      return jobs.some((j) => j?.name === 'booking.reschedule' && j.data?.sent === true) ? true : undefined;
    }, 30_000);
    const refused = await hold({ serviceId: haircut, start: target, staffId: alex });
    const moved = await moving;
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json().start).toBe(target);
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error.code).toBe('SLOT_UNAVAILABLE');
  });

  it("is not given over another company's booking of the same stylist that names no staff member", async () => {
    gw.sandbox.control.addEventType({
      id: 9104,
      ownerId: 1,
      hostIds: [2],
      title: 'Haircut (neighbour salon)',
      slug: 'haircut-neighbour-salon',
      lengthInMinutes: 30,
    });
    const other = await seedCompany(gw.database.db, {
      name: 'Neighbour salon',
      staff: [{ name: 'Alex', calcomUserId: 2 }],
      services: [
        {
          name: 'Haircut',
          segments: [{ name: 'Haircut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: 9104 }] }],
        },
      ],
    });
    const start = berlin(testDay(), '16:00');
    gw.sandbox.control.injectFault({ operation: 'bookings.create', latencyMs: 4_000, count: 1 });
    // The other salon books its only stylist without naming him: its appointment has no staff yet.
    const theirs = book(
      { serviceId: other.serviceIds[0] as string, start },
      'theirs@example.org',
      other.token,
    );
    await eventually(async () => {
      const rows = await gw.database.sql<{ sent: Date | null }[]>`
        select booking_sent_at as sent from appointments
        where company_id = ${other.companyId} and starts_at = ${new Date(start).toISOString()}::timestamptz`;
      return rows[0]?.sent ? true : undefined;
    }, 30_000);
    const refused = await hold({ serviceId: haircut, start, staffId: alex });
    const theirAnswer = await theirs;
    expect(theirAnswer.statusCode, theirAnswer.body).toBe(201);
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error.code).toBe('SLOT_UNAVAILABLE');
  });
});

describe('booking a held slot', () => {
  it('goes to the holder alone when 50 other bookings race for it', async () => {
    const start = berlin(testDay(), '14:00');
    const created = await hold({ serviceId: haircut, start, staffId: alex });
    expect(created.statusCode).toBe(201);
    const holdId = created.json().id as string;
    const [holder, ...others] = await Promise.all([
      book({ serviceId: haircut, start, holdId }, 'holder@example.org'),
      ...Array.from({ length: 50 }, (_, i) =>
        book({ serviceId: haircut, start, staffId: alex }, `racer${i}@example.org`),
      ),
    ]);
    expect(holder?.statusCode).toBe(201);
    expect(holder?.json().status).toBe('confirmed');
    expect(holder?.json().staff.id).toBe(alex);
    for (const other of others) {
      expect(other.statusCode).toBe(409);
      expect(['SLOT_HELD', 'SLOT_UNAVAILABLE']).toContain(other.json().error.code);
    }
    const inCalcom = sandboxBookingsAt(HAIRCUT.alex, start);
    expect(inCalcom).toHaveLength(1);
    expect(inCalcom[0]?.metadata.calgateId).toBe(holder?.json().id);
    const used = await getHold(holdId);
    expect(used.json()).toMatchObject({ status: 'consumed', appointmentId: holder?.json().id });
  });

  it('refuses an unknown, used, released or mismatched hold with a clear error', async () => {
    const day = testDay();
    const start = berlin(day, '15:00');
    const unknown = await book({ serviceId: haircut, start, holdId: 'hld_nothing' }, 'u@example.org');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatchObject({ code: 'HOLD_NOT_FOUND', details: { field: 'holdId' } });

    const created = await hold({ serviceId: haircut, start, staffId: alex });
    const holdId = created.json().id as string;
    const wrongStart = await book(
      { serviceId: haircut, start: berlin(day, '15:30'), holdId },
      'w@example.org',
    );
    expect(wrongStart.statusCode).toBe(400);
    expect(wrongStart.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'start' } });
    const wrongService = await book({ serviceId: threeSegments, start, holdId }, 'w@example.org');
    expect(wrongService.statusCode).toBe(400);
    expect(wrongService.json().error.details.field).toBe('serviceId');

    expect((await book({ serviceId: haircut, start, holdId }, 'first@example.org')).statusCode).toBe(201);
    const twice = await book({ serviceId: haircut, start, holdId }, 'second@example.org');
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error).toMatchObject({ code: 'INVALID_STATE', details: { field: 'holdId' } });
    expect((await releaseHold(holdId)).statusCode).toBe(409);

    const later = berlin(day, '16:00');
    const released = (await hold({ serviceId: haircut, start: later, staffId: alex })).json().id as string;
    await releaseHold(released);
    const afterRelease = await book({ serviceId: haircut, start: later, holdId: released }, 'r@example.org');
    expect(afterRelease.statusCode).toBe(410);
    expect(afterRelease.json().error).toMatchObject({ code: 'HOLD_EXPIRED', details: { field: 'holdId' } });
  });
});

describe('a booking made with a hold', () => {
  it('once cancelled, gives its slot back: the reservation leaves Cal.com before the hold ends', async () => {
    const day = testDay();
    const start = berlin(day, '11:30');
    const created = await hold({ serviceId: haircut, start, staffId: alex, ttlSeconds: 900 });
    expect(created.statusCode, created.body).toBe(201);
    const holdId = created.json().id as string;
    const reservationUid = created.json().segments[0].reservationUid as string;
    const booked = await book({ serviceId: haircut, start, holdId }, 'undecided@example.org');
    expect(booked.statusCode, booked.body).toBe(201);
    const cancelled = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v2/bookings/${booked.json().id}`,
      headers: auth(gw.company.token, { prefer: 'wait=25' }),
      payload: { cancellationReason: 'changed their mind' },
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    await eventually(
      async () => (sandboxReservations().some((r) => r.uid === reservationUid) ? undefined : true),
      30_000,
    );
    expect(await availableStarts(haircut, day, alex)).toContain(start);
    expect((await getHold(holdId)).json()).toMatchObject({
      status: 'consumed',
      segments: [{ reservationUid: null }],
    });
  });

  it('that failed in Cal.com lets the hold be released, and its slot is offered again', async () => {
    const day = testDay();
    const start = berlin(day, '12:00');
    const created = await hold({ serviceId: haircut, start, staffId: alex, ttlSeconds: 900 });
    expect(created.statusCode, created.body).toBe(201);
    const holdId = created.json().id as string;
    // Cal.com refuses the booking for good (a validation error, not a taken slot).
    gw.sandbox.control.injectFault({ operation: 'bookings.create', status: 400, count: 5 });
    const booked = await book({ serviceId: haircut, start, holdId }, 'refused@example.org');
    gw.sandbox.control.clearFaults();
    expect(booked.statusCode, booked.body).toBeGreaterThanOrEqual(400);
    expect(booked.json().status ?? 'failed').toBe('failed');
    const released = await releaseHold(holdId);
    expect(released.statusCode, released.body).toBe(200);
    // A booking used it: it stays consumed, its reservation is gone.
    expect(released.json()).toMatchObject({ status: 'consumed', segments: [{ reservationUid: null }] });
    expect(sandboxReservations().some((r) => r.slotStart === Date.parse(start))).toBe(false);
    expect(await availableStarts(haircut, day, alex)).toContain(start);
  });
});

describe('an expired hold', () => {
  it('frees the slot in Cal.com and here: the reservation is deleted and another caller books it', async () => {
    const day = testDay();
    const start = berlin(day, '16:30');
    const created = await hold({ serviceId: haircut, start, staffId: alex, ttlSeconds: 2 });
    expect(created.statusCode).toBe(201);
    const holdId = created.json().id as string;
    const reservationUid = created.json().segments[0].reservationUid as string;
    expect(sandboxReservations().some((r) => r.uid === reservationUid)).toBe(true);
    const blocked = await book({ serviceId: haircut, start, staffId: alex }, 'early@example.org');
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json().error.code).toBe('SLOT_HELD');

    // The release job runs at the expiry: the hold ends and its reservation leaves Cal.com.
    const expired = await eventually(async () => {
      const view = (await getHold(holdId)).json();
      return view.status === 'expired' && view.segments[0].reservationUid === null ? view : undefined;
    }, 30_000);
    expect(expired.status).toBe('expired');
    expect(sandboxReservations().some((r) => r.uid === reservationUid)).toBe(false);
    expect(await availableStarts(haircut, day, alex)).toContain(start);

    const late = await book({ serviceId: haircut, start, holdId }, 'late@example.org');
    expect(late.statusCode).toBe(410);
    expect(late.json().error.code).toBe('HOLD_EXPIRED');
    const other = await book({ serviceId: haircut, start, staffId: alex }, 'other@example.org');
    expect(other.statusCode).toBe(201);
    expect(sandboxBookingsAt(HAIRCUT.alex, start)).toHaveLength(1);
  });
});

describe('a hold whose release job was lost', () => {
  it('is released by the sweeper: its reservation leaves Cal.com', async () => {
    const start = berlin(testDay(), '17:30');
    const runtime = gw.runtime();
    const created = await hold({ serviceId: haircut, start, staffId: alex, ttlSeconds: 5 });
    expect(created.statusCode).toBe(201);
    const holdId = created.json().id as string;
    const reservationUid = created.json().segments[0].reservationUid as string;
    // As if Redis lost the delayed job.
    const job = await runtime.queues.queue('bookings').getJob(`hold-release-${holdId}-expired`);
    expect(job).toBeDefined();
    await job?.remove();
    await eventually(
      async () => ((await getHold(holdId)).json().status === 'expired' ? true : undefined),
      30_000,
    );
    expect(sandboxReservations().some((r) => r.uid === reservationUid)).toBe(true);

    expect(await sweepExpiredHolds(runtime)).toBeGreaterThanOrEqual(1);
    await eventually(
      async () => ((await getHold(holdId)).json().segments[0].reservationUid === null ? true : undefined),
      30_000,
    );
    expect(sandboxReservations().some((r) => r.uid === reservationUid)).toBe(false);
  });
});

describe('rescheduling onto a held slot', () => {
  it('is refused with SLOT_HELD and keeps the original appointment', async () => {
    const day = testDay();
    const booked = await book(
      { serviceId: haircut, start: berlin(day, '09:30'), staffId: alex },
      'm@example.org',
    );
    expect(booked.statusCode).toBe(201);
    const target = berlin(day, '12:30');
    expect((await hold({ serviceId: haircut, start: target, staffId: alex })).statusCode).toBe(201);
    const moved = await gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${booked.json().id}`,
      headers: auth(gw.company.token, { prefer: 'wait=25' }),
      payload: { start: target, timeZone: 'Europe/Berlin' },
    });
    expect(moved.statusCode).toBe(409);
    expect(moved.json().error).toMatchObject({ code: 'SLOT_HELD', details: { unchanged: true } });
    expect(sandboxBookingsAt(HAIRCUT.alex, target)).toHaveLength(0);
  });
});

describe('a composite hold', () => {
  it('reserves every segment, keeps others off each of them, and books exactly the held plan', async () => {
    const day = testDay();
    const start = berlin(day, '09:00');
    const created = await hold({ serviceId: threeSegments, start });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.segments).toHaveLength(3);
    const uids = body.segments.map((s: { reservationUid: string }) => s.reservationUid);
    const reserved = sandboxReservations().filter((r) => uids.includes(r.uid));
    expect(reserved.map((r) => r.slotStart).sort()).toEqual(
      body.segments.map((s: { start: string }) => Date.parse(s.start)).sort(),
    );
    // Not offered with the held stylist any more (a colleague may still be free at that start).
    const heldStaff = body.segments[0].staffId as string;
    expect(await availableStarts(threeSegments, day, heldStaff)).not.toContain(start);

    const [, washAndCut] = body.segments as Array<{ staffId: string; start: string }>;
    const onSecondSegment = await book(
      { serviceId: haircut, start: washAndCut?.start as string, staffId: washAndCut?.staffId as string },
      'intruder@example.org',
    );
    expect(onSecondSegment.statusCode).toBe(409);
    expect(onSecondSegment.json().error.code).toBe('SLOT_HELD');

    const booked = await book({ serviceId: threeSegments, start, holdId: body.id }, 'composite@example.org');
    expect(booked.statusCode).toBe(201);
    expect(booked.json().status).toBe('confirmed');
    const appointmentId = booked.json().id as string;
    const made = gw.sandbox.control
      .bookings()
      .filter((b) => b.metadata.calgateAppointmentId === appointmentId);
    expect(made.map((b) => b.start).sort()).toEqual(
      body.segments.map((s: { start: string }) => Date.parse(s.start)).sort(),
    );
    expect((await getHold(body.id)).json().status).toBe('consumed');
  });
});

describe('the API documentation', () => {
  it('lists the hold routes and holdId on bookings', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v2/holds', '/api/v2/holds/{id}']));
    expect(Object.keys(doc.paths['/api/v2/holds/{id}'])).toEqual(expect.arrayContaining(['get', 'delete']));
    const bookingBody = doc.paths['/api/v2/bookings'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(bookingBody.properties)).toContain('holdId');
    expect(Object.keys(doc.paths['/api/v2/holds'].post.responses)).toContain('201');
  });
});

// Last: it pauses the shared key for the rest of this file.
describe('a hold asked for with an Idempotency-Key', () => {
  const keyRows = async (key: string) =>
    (await gw.database.sql`select 1 from idempotency_keys where key = ${key}`).length;
  const appointmentsAt = async (start: string) =>
    (
      await gw.database
        .sql`select 1 from appointments where starts_at = ${new Date(start).toISOString()}::timestamptz`
    ).length;
  const holdsAt = async (start: string) =>
    gw.database.sql<{ id: string; status: string }[]>`
      select id, status from holds where starts_at = ${new Date(start).toISOString()}::timestamptz order by created_at`;

  it('is made once: a retry with the same key and body replays it, another body is refused', async () => {
    const start = berlin(testDay(), '10:00');
    const key = `hold-${start}`;
    const first = await holdWithKey(key, { serviceId: haircut, start, staffId: alex });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await holdWithKey(key, { serviceId: haircut, start, staffId: alex });
    expect(again.statusCode, again.body).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    expect(again.headers.location).toBe(`/api/v2/holds/${first.json().id}`);
    expect((await holdsAt(start)).map((h) => h.id)).toEqual([first.json().id]);
    expect(sandboxReservations().filter((r) => r.slotStart === Date.parse(start))).toHaveLength(1);

    const other = await holdWithKey(key, { serviceId: haircut, start, staffId: alex, ttlSeconds: 60 });
    expect(other.statusCode).toBe(422);
    expect(other.json().error).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      details: { field: 'Idempotency-Key' },
    });
    // One key namespace per company: a booking's key is not a hold's.
    const booked = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { 'idempotency-key': key }),
      payload: {
        serviceId: haircut,
        start,
        timeZone: 'Europe/Berlin',
        customer: { name: 'K', email: 'k@example.org' },
      },
    });
    expect(booked.statusCode).toBe(422);
    expect(booked.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('that is malformed is refused with a 400 naming the header, and nothing is held', async () => {
    const start = berlin(testDay(), '14:30');
    for (const key of ['has space', 'x'.repeat(256), 'schlüssel']) {
      const res = await holdWithKey(key, { serviceId: haircut, start, staffId: alex });
      expect(res.statusCode, key).toBe(400);
      const { error } = res.json();
      expect(error.code).toBe('VALIDATION_FAILED');
      // The message and the details name the header.
      expect(error.message).toMatch(/idempotency-key/i);
      expect(JSON.stringify(error.details)).toMatch(/idempotency-key/i);
    }
    expect(await holdsAt(start)).toEqual([]);
    expect(sandboxReservations().filter((r) => r.slotStart === Date.parse(start))).toEqual([]);
  });

  it("whose first request died after making it is replayed once that request's lease lapsed", async () => {
    const start = berlin(testDay(), '15:00');
    const body = { serviceId: haircut, start, staffId: alex };
    const first = await holdWithKey('died', body);
    expect(first.statusCode).toBe(201);
    // As if the request had died before answering, longer ago than the in-flight lease.
    await gw.database.sql`
      update idempotency_keys set state = 'in_flight', created_at = now() - interval '1 minute'
      where key = 'died'`;
    const retried = await holdWithKey('died', body);
    expect(retried.statusCode, retried.body).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(retried.json().id).toBe(first.json().id);
    // Within the lease the retry is told to wait instead.
    await gw.database
      .sql`update idempotency_keys set state = 'in_flight', created_at = now() where key = 'died'`;
    const early = await holdWithKey('died', body);
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
  });

  it('asked for twice at once with one key makes one hold', async () => {
    const start = berlin(testDay(), '11:00');
    const body = { serviceId: haircut, start, staffId: alex };
    const answers = await Promise.all([holdWithKey('twice', body), holdWithKey('twice', body)]);
    const made = answers.filter((a) => a.statusCode === 201).map((a) => a.json().id as string);
    const busy = answers.filter((a) => a.statusCode === 409).map((a) => a.json().error.code as string);
    // The second waits for the first: it replays it, or (still in flight) is told to retry shortly.
    expect(made.length + busy.length).toBe(2);
    expect(new Set(made).size).toBe(1);
    expect(busy.every((code) => code === 'IDEMPOTENCY_KEY_IN_USE')).toBe(true);
    expect((await holdsAt(start)).map((h) => h.id)).toEqual([made[0]]);
  });

  it('that was refused, or failed in Cal.com, leaves the key free for the retry', async () => {
    const day = testDay();
    const start = berlin(day, '12:30');
    const body = { serviceId: haircut, start, staffId: alex };
    // A booking of ours on its way to Cal.com: the hold is refused inside its transaction.
    gw.sandbox.control.injectFault({ operation: 'bookings.create', latencyMs: 1_500 });
    const racing = book(body, 'lee@example.org');
    await eventually(async () => ((await appointmentsAt(start)) === 1 ? true : undefined));
    const refused = await holdWithKey('after-refusal', body);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('SLOT_UNAVAILABLE');
    expect(await keyRows('after-refusal')).toBe(0);
    expect((await racing).statusCode).toBe(201);
    // Retried, it is refused for the same reason (the booking took the slot): not replayed, not held up.
    const retried = await holdWithKey('after-refusal', body);
    expect(retried.statusCode).toBe(409);
    expect(retried.json().error.code).toBe('SLOT_UNAVAILABLE');

    const later = berlin(day, '13:00');
    gw.sandbox.control.injectFault({ operation: 'slots.reserve', status: 400, count: 1 });
    const failed = await holdWithKey('after-failure', { serviceId: haircut, start: later, staffId: alex });
    expect(failed.statusCode).toBeGreaterThanOrEqual(400);
    expect((await holdsAt(later)).map((h) => h.status)).toEqual(['released']);
    const second = await holdWithKey('after-failure', { serviceId: haircut, start: later, staffId: alex });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect((await holdsAt(later)).map((h) => h.status)).toEqual(['released', 'active']);
  });
});

describe('reservations and the key budget', () => {
  it('spend the Cal.com key budget: a paused key refuses the hold and leaves nothing held', async () => {
    const day = testDay();
    const start = berlin(day, '17:00');
    // Availability is cached first, so the reservation is the only Cal.com call left.
    expect(await availableStarts(haircut, day, alex)).toContain(start);
    const redis = new Redis(gw.config.redis.url);
    await createBudget({ redis, prefix: gw.config.redis.queuePrefix, limitPerMinute: 100 }).pause(
      keyFingerprint(DEMO_API_KEY),
      30_000,
    );
    await redis.quit();
    const refused = await hold({ serviceId: haircut, start, staffId: alex });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(sandboxReservations().some((r) => r.slotStart === Date.parse(start))).toBe(false);
    const rows = await gw.database.sql<{ status: string }[]>`
      select status from holds where starts_at = ${new Date(start).toISOString()}::timestamptz`;
    expect(rows.map((r) => r.status)).toEqual(['released']);
  });
});
