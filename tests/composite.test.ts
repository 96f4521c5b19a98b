import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { appointments, companies } from '@calgate/db';
import {
  processCompensate,
  processFinalize,
  reconcileBookings,
  requestReschedule,
  sweepStuckAppointments,
} from '@calgate/domain';
import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  berlin,
  eventually,
  type Gateway,
  queuesSettled,
  startGateway,
  testDay,
} from './support/gateway.ts';

const SLOT_TAKEN = {
  statusCode: 400,
  message: 'User either already has booking at this time or is not available',
};

let gw: Gateway;
let threeSegments: string;
let twoSegments: string;
beforeAll(async () => {
  gw = await startGateway();
  threeSegments = gw.company.serviceIds[1] as string;
  twoSegments = gw.company.serviceIds[2] as string;
});
afterAll(async () => {
  await gw.close();
});
afterEach(() => gw.sandbox.control.clearFaults());

const customer = (email: string) => ({ name: 'Casey Client', email });
const book = (
  serviceId: string,
  start: string,
  email: string,
  headers: Record<string, string> = { prefer: 'wait=20' },
) =>
  gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, headers),
    payload: { serviceId, start, timeZone: 'Europe/Berlin', customer: customer(email) },
  });
const ofAppointment = (id: string) =>
  gw.sandbox.control.bookings().filter((b) => b.metadata.calgateAppointmentId === id);
/** Waits until every one of `uids` (bookings of appointment `id`) is cancelled in Cal.com. */
const cancelledInCalcom = (id: string, uids: string[]) =>
  eventually(async () =>
    ofAppointment(id)
      .filter((b) => uids.includes(b.uid))
      .every((b) => b.status === 'cancelled')
      ? true
      : undefined,
  );

describe('composite availability', () => {
  it('offers slots only where every segment has someone free at its offset, with segments and pauses', async () => {
    const day = testDay();
    const res = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${threeSegments}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      headers: auth(gw.company.token),
    });
    expect(res.statusCode).toBe(200);
    const [first] = res.json().slots;
    expect(first.start).toBe(berlin(day, '09:00'));
    expect(first.end).toBe(berlin(day, '11:00'));
    expect(first.segments.map((s: { start: string }) => s.start)).toEqual([
      berlin(day, '09:00'),
      berlin(day, '10:15'),
      berlin(day, '10:45'),
    ]);
    expect(first.pauses).toEqual([{ start: berlin(day, '09:45'), end: berlin(day, '10:15') }]);
    // The salon closes at 18:00: the last 2-hour appointment starts at 16:00.
    expect(res.json().slots.at(-1).start).toBe(berlin(day, '16:00'));
  });
});

describe('composite booking', () => {
  it('books every segment, last first, and confirms', async () => {
    const day = testDay();
    const res = await book(threeSegments, berlin(day, '09:00'), 'happy@example.org');
    expect(res.statusCode).toBe(201);
    const id = res.json().id;
    const made = ofAppointment(id).sort((a, b) => a.id - b.id);
    expect(made).toHaveLength(3);
    expect(made.every((b) => b.status === 'accepted')).toBe(true);
    // Cal.com booking ids grow with creation: the last segment (blow-dry) was booked first.
    expect(made.map((b) => new Date(b.start).toISOString())).toEqual(
      [berlin(day, '10:45'), berlin(day, '10:15'), berlin(day, '09:00')].map((t) =>
        new Date(t).toISOString(),
      ),
    );
    const calls = gw.sandbox.control
      .requests()
      .filter((r) => r.operation === 'bookings.create' && r.status === 201);
    expect(calls.length).toBeGreaterThanOrEqual(3);
  });

  it('books every segment from the last segment job; the other segment jobs send nothing', async () => {
    const res = await book(threeSegments, berlin(testDay(), '09:00'), 'one-job@example.org');
    expect(res.statusCode).toBe(201);
    const appointmentId = res.json().id;
    const job = (position: number) =>
      gw.runtime().queues.find('composite.book-segment', { appointmentId, generation: 0, position });
    const [last, middle, first] = await Promise.all([job(2), job(1), job(0)]);
    // The job that sent a create wrote its at-most-once marker first.
    expect(last?.data).toMatchObject({ sent: true, sentSegments: [1, 0] });
    expect(middle?.data.sent).toBeUndefined();
    expect(first?.data.sent).toBeUndefined();
    expect(ofAppointment(appointmentId)).toHaveLength(3);
  });

  it('checks the next segment while the previous create is in flight', async () => {
    // The first create (the last segment) is made in Cal.com but answered late (3 s: long enough
    // for the checks below on a busy machine, and within the client's 5 s timeout).
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      afterEffect: true,
      latencyMs: 3_000,
      count: 1,
    });
    const res = await book(threeSegments, berlin(testDay(), '09:00'), 'ahead@example.org', {});
    const appointmentId = res.json().id;
    const lastJob = () =>
      gw.runtime().queues.find('composite.book-segment', { appointmentId, generation: 0, position: 2 });
    await eventually(async () => (ofAppointment(appointmentId).length >= 1 ? true : undefined));
    // The middle segment's marker (written with its hold check and budget share) before its turn.
    await eventually(async () => ((await lastJob())?.data.sentSegments?.includes(1) ? true : undefined));
    expect(ofAppointment(appointmentId)).toHaveLength(1);
    await queuesSettled(gw);
    expect(ofAppointment(appointmentId)).toHaveLength(3);
  });

  it('books at most one segment more once the appointment is cancelled while one is being booked, and releases it', async () => {
    // The first create (the last segment) is made in Cal.com but answered late (3 s): cancel meanwhile.
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      afterEffect: true,
      latencyMs: 3_000,
      count: 1,
    });
    const res = await book(threeSegments, berlin(testDay(), '09:00'), 'cancel-midway@example.org', {});
    const id = res.json().id;
    await eventually(async () => (ofAppointment(id).length >= 1 ? true : undefined));
    const cancelled = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v2/bookings/${id}`,
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: { cancellationReason: 'changed plans' },
    });
    expect(cancelled.json().status).toBe('cancelled');
    await queuesSettled(gw);
    // The middle segment's checks (its status read among them) ran ahead, likely before the
    // cancel; the first segment's ran after it: that one was never sent.
    expect(ofAppointment(id).length).toBeLessThanOrEqual(2);
    expect(ofAppointment(id).every((b) => b.status === 'cancelled')).toBe(true);
  });

  it.each([0, 1, 2])(
    'leaves zero active Cal.com bookings and a failed appointment when segment %i fails',
    async (position) => {
      const day = testDay();
      const start = ['09:00', '11:30', '14:00'][position] as string;
      // Segments are booked last-first: segment p is the (3 - p)th create.
      gw.sandbox.control.injectFault({
        operation: 'bookings.create',
        status: 400,
        body: SLOT_TAKEN,
        skip: 2 - position,
        count: 1,
      });
      const res = await book(threeSegments, berlin(day, start), `fail${position}@example.org`);
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('SLOT_UNAVAILABLE');
      const id = res.json().error.details.appointmentId;
      const [row] = await gw.database.db.select().from(appointments).where(eq(appointments.id, id));
      expect(row?.status).toBe('failed');
      expect(row?.failureReason).toMatch(new RegExp(`^segment ${position + 1}: `));
      // The failed segment keeps its marker (its create may have landed); one checked ahead of
      // that create takes its marker back (it was never sent).
      const last = await gw.runtime().queues.find('composite.book-segment', {
        appointmentId: id,
        generation: 0,
        position: 2,
      });
      expect(last?.data.sentSegments ?? []).toEqual([1, 0].filter((p) => p >= position));
      expect(ofAppointment(id).filter((b) => b.status !== 'cancelled')).toHaveLength(0);
      expect(ofAppointment(id)).toHaveLength(2 - position);
    },
  );

  it('keeps compensating through a Cal.com outage and finishes when it recovers', async () => {
    const day = testDay();
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: SLOT_TAKEN,
      skip: 1,
      count: 1,
    });
    gw.sandbox.control.injectFault({ operation: 'bookings.cancel', status: 503, count: 3 });
    const res = await book(twoSegments, berlin(day, '09:00'), 'outage@example.org', {});
    const id = res.json().id;
    await eventually(async () => {
      const [row] = await gw.database.db.select().from(appointments).where(eq(appointments.id, id));
      return row?.status === 'failed' ? true : undefined;
    });
    const cancels = gw.sandbox.control.requests().filter((r) => r.operation === 'bookings.cancel');
    expect(cancels.filter((r) => r.status === 503)).toHaveLength(3);
    expect(ofAppointment(id).filter((b) => b.status !== 'cancelled')).toHaveLength(0);
  });

  it('makes one composite appointment from the same Idempotency-Key twice', async () => {
    const day = testDay();
    const headers = { prefer: 'wait=20', 'idempotency-key': 'composite-once' };
    const first = await book(twoSegments, berlin(day, '10:00'), 'once@example.org', headers);
    const second = await book(twoSegments, berlin(day, '10:00'), 'once@example.org', headers);
    expect(first.statusCode).toBe(201);
    expect(second.json().id).toBe(first.json().id);
    expect(ofAppointment(first.json().id)).toHaveLength(2);
  });

  it('cancels every segment on cancel', async () => {
    const day = testDay();
    const created = await book(twoSegments, berlin(day, '13:00'), 'cancel@example.org');
    const id = created.json().id;
    const res = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v2/bookings/${id}`,
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: { cancellationReason: 'changed plans' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('cancelled');
    const made = ofAppointment(id);
    expect(made).toHaveLength(2);
    expect(made.every((b) => b.status === 'cancelled' && b.cancellationReason === 'changed plans')).toBe(
      true,
    );
  });

  it('keeps a confirmed appointment when its finalize job runs again after a crash', async () => {
    const created = await book(twoSegments, berlin(testDay(), '09:00'), 'refinalize@example.org');
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    // What a worker killed right after the confirmation leaves behind: the same job, run again.
    expect(await processFinalize(gw.runtime(), { appointmentId: id, generation: 0 })).toBe(
      'confirmed-before',
    );
    expect(
      await processCompensate(
        gw.runtime(),
        { appointmentId: id, generation: 0, purpose: 'failed' },
        {} as never,
      ),
    ).toBe(0);
    await queuesSettled(gw);
    const [row] = await gw.database.db.select().from(appointments).where(eq(appointments.id, id));
    expect(row?.status).toBe('confirmed');
    expect(ofAppointment(id).map((b) => b.status)).toEqual(['accepted', 'accepted']);
  });

  it('answers 409 with alternatives when no staff member is free at the start', async () => {
    const day = testDay();
    await book(twoSegments, berlin(day, '09:00'), 'x1@example.org');
    await book(twoSegments, berlin(day, '09:00'), 'x2@example.org');
    const third = await book(twoSegments, berlin(day, '09:00'), 'x3@example.org');
    expect(third.statusCode).toBe(409);
    expect(third.json().error.details.alternatives.length).toBeGreaterThan(0);
  });
});

describe('a worker killed between segment bookings', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('ends consistent after a restart: confirmed, one booking per segment, no orphans', async () => {
    const g = await startGateway({ worker: false, env: { WORKER_LOCK_DURATION_MS: '2000' } });
    try {
      const main = fileURLToPath(new URL('../services/worker/src/main.ts', import.meta.url));
      const spawnWorker = () => {
        const child = spawn(process.execPath, [main], { env: { ...process.env, ...g.env }, stdio: 'ignore' });
        children.push(child);
        return child;
      };
      const doomed = spawnWorker();
      // The second create (segment 1 of 3) is made in Cal.com but answered late: kill the worker then.
      g.sandbox.control.injectFault({
        operation: 'bookings.create',
        afterEffect: true,
        latencyMs: 5_000,
        skip: 1,
        count: 1,
      });
      const res = await g.app.inject({
        method: 'POST',
        url: '/api/v2/bookings',
        headers: auth(g.company.token),
        payload: {
          serviceId: g.company.serviceIds[1],
          start: berlin(testDay(), '09:00'),
          timeZone: 'Europe/Berlin',
          customer: customer('kill@example.org'),
        },
      });
      const id = res.json().id as string;
      const mine = () => g.sandbox.control.bookings().filter((b) => b.metadata.calgateAppointmentId === id);
      await eventually(async () => (mine().length >= 2 ? true : undefined));
      doomed.kill('SIGKILL');
      await new Promise((resolve) => doomed.once('exit', resolve));
      spawnWorker();
      await eventually(async () => {
        const [row] = await g.database.db.select().from(appointments).where(eq(appointments.id, id));
        return row?.status === 'confirmed' ? true : undefined;
      });
      expect(mine()).toHaveLength(3);
      expect(mine().every((b) => b.status === 'accepted')).toBe(true);
      expect(new Set(mine().map((b) => b.metadata.calgateId)).size).toBe(3);
    } finally {
      await g.close();
    }
  });
});

describe('composite reschedule', () => {
  const reschedule = (id: string, start: string) =>
    gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${id}`,
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: { start, timeZone: 'Europe/Berlin', reason: 'later please' },
    });

  it('books the new segments first, then releases the old ones', async () => {
    const day = testDay();
    const created = await book(twoSegments, berlin(day, '09:00'), 'move@example.org');
    const id = created.json().id;
    const old = ofAppointment(id).map((b) => b.uid);
    const res = await reschedule(id, berlin(day, '13:00'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'confirmed', start: berlin(day, '13:00') });
    await cancelledInCalcom(id, old);
    const live = ofAppointment(id).filter((b) => b.status === 'accepted');
    expect(live).toHaveLength(2);
    expect(Math.min(...live.map((b) => b.start))).toBe(Date.parse(berlin(day, '13:00')));
    // The new generation was created before any old booking was cancelled.
    const cancelledAt = Math.min(
      ...ofAppointment(id)
        .filter((b) => old.includes(b.uid))
        .map((b) => b.updatedAt),
    );
    expect(Math.max(...live.map((b) => b.createdAt))).toBeLessThanOrEqual(cancelledAt);
  });

  it('keeps the original appointment when the new segments cannot all be booked', async () => {
    const day = testDay();
    const created = await book(twoSegments, berlin(day, '09:00'), 'keep@example.org');
    const original = created.json();
    const before = ofAppointment(original.id).map((b) => b.uid);
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: SLOT_TAKEN,
      skip: 1,
      count: 1,
    });
    const res = await reschedule(original.id, berlin(day, '14:00'));
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'SLOT_UNAVAILABLE', details: { unchanged: true } });
    const after = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/bookings/${original.id}`,
      headers: auth(gw.company.token),
    });
    expect(after.json()).toMatchObject({ status: 'confirmed', start: berlin(day, '09:00') });
    const live = ofAppointment(original.id)
      .filter((b) => b.status === 'accepted')
      .map((b) => b.uid);
    expect(live.sort()).toEqual(before.sort());
  });

  it('after one that failed, releases the generation the appointment stood on', async () => {
    const day = testDay();
    const created = await book(twoSegments, berlin(day, '09:00'), 'second-move@example.org');
    const id = created.json().id as string;
    const original = ofAppointment(id).map((b) => b.uid);
    // Generation 1 fails (its second create is refused) and is released.
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: SLOT_TAKEN,
      skip: 1,
      count: 1,
    });
    expect((await reschedule(id, berlin(day, '14:00'))).statusCode).toBe(409);
    gw.sandbox.control.clearFaults();
    // Generation 2 replaces generation 0, the one the appointment still stands on.
    const moved = await reschedule(id, berlin(day, '16:00'));
    expect(moved.statusCode, moved.body).toBe(200);
    await cancelledInCalcom(id, original);
    const live = ofAppointment(id).filter((b) => b.status === 'accepted');
    expect(live.map((b) => b.metadata.calgateGeneration)).toEqual(['2', '2']);
    expect(Math.min(...live.map((b) => b.start))).toBe(Date.parse(berlin(day, '16:00')));
  });

  it('that fails keeps a flag raised for another reason (a segment moved in Cal.com)', async () => {
    const day = testDay();
    const created = await book(twoSegments, berlin(day, '09:00'), 'moved-then-failed@example.org');
    const id = created.json().id as string;
    const flagged = async () =>
      (await gw.database.db.select().from(appointments).where(eq(appointments.id, id)))[0]?.needsAttention;
    // The salon moves the second segment in Cal.com; reconciliation records it and flags it.
    const second = ofAppointment(id).sort((x, y) => x.start - y.start)[1];
    gw.sandbox.control.rescheduleBookingDirect(second?.uid as string, berlin(day, '16:00'), true);
    await reconcileBookings(gw.runtime(), gw.company.companyId);
    expect(await flagged()).toBe(true);
    // A reschedule then fails, and its new generation is released.
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: SLOT_TAKEN,
      skip: 1,
      count: 1,
    });
    expect((await reschedule(id, berlin(day, '13:00'))).statusCode).toBe(409);
    await queuesSettled(gw);
    expect(await flagged()).toBe(true);
  });

  it('whose flow never reached the queue is added by the sweeper, and lands', async () => {
    const day = testDay();
    const created = await book(twoSegments, berlin(day, '09:00'), 'swept@example.org');
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    // The reschedule is recorded, but adding its flow fails (Redis away at that moment).
    const runtime = gw.runtime();
    const queues = Object.create(runtime.queues, {
      addCompositeFlow: { value: () => Promise.reject(new Error('Redis is away')) },
    });
    const [company] = await gw.database.db
      .select({ id: companies.id, calcomApiKeyEncrypted: companies.calcomApiKeyEncrypted })
      .from(companies)
      .where(eq(companies.id, gw.company.companyId));
    if (company === undefined) throw new Error('the test company is missing');
    const accepted = await requestReschedule({ ...runtime, queues }, company, id, {
      start: berlin(day, '13:00'),
      timeZone: 'Europe/Berlin',
    });
    expect(accepted.kind).toBe('accepted');
    // Past the sweeper's grace period, as if half a minute had gone by.
    await gw.database.db
      .update(appointments)
      .set({ updatedAt: sql`${appointments.updatedAt} - interval '1 minute'` })
      .where(eq(appointments.id, id));
    expect(await sweepStuckAppointments(runtime)).toBe(1);
    await eventually(async () => {
      const [row] = await gw.database.db.select().from(appointments).where(eq(appointments.id, id));
      return row?.status === 'confirmed' && row.startsAt.getTime() === Date.parse(berlin(day, '13:00'))
        ? true
        : undefined;
    });
    await eventually(async () =>
      ofAppointment(id).filter((b) => b.status === 'accepted').length === 2 &&
      ofAppointment(id).filter((b) => b.status === 'cancelled').length === 2
        ? true
        : undefined,
    );
    const live = ofAppointment(id).filter((b) => b.status === 'accepted');
    expect(Math.min(...live.map((b) => b.start))).toBe(Date.parse(berlin(day, '13:00')));
  });
});
