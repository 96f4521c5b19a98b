import { appointments } from '@calgate/db';
import { processBookSegment, processFinalize, sweepStuckAppointments } from '@calgate/domain';
import { createJobWorkers, type SomeJobHandlers } from '@calgate/jobs';
import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from './support/gateway.ts';

const SLOT_TAKEN = {
  statusCode: 400,
  message: 'User either already has booking at this time or is not available',
};

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ worker: false });
});
afterAll(async () => {
  await gw.close();
});
afterEach(() => gw.sandbox.control.clearFaults());

/** A composite booking of the two-segment service, answered 202 (no worker runs yet). */
async function composite(email: string): Promise<string> {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token),
    payload: {
      serviceId: gw.company.serviceIds[2],
      start: berlin(testDay(), '09:00'),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Unrecorded Failure', email },
    },
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

const live = (id: string) =>
  gw.sandbox.control
    .bookings()
    .filter((b) => b.metadata.calgateAppointmentId === id && b.status === 'accepted');
const row = async (id: string) =>
  (await gw.database.db.select().from(appointments).where(eq(appointments.id, id)))[0];
/** Past the sweeper's grace period. */
const age = (id: string) =>
  gw.database.db
    .update(appointments)
    .set({ updatedAt: sql`${appointments.updatedAt} - interval '1 minute'` })
    .where(eq(appointments.id, id));

/** Runs the composite's flow with `handlers` until its finalize job has failed. */
async function untilFinalizeFailed(id: string, handlers: SomeJobHandlers): Promise<void> {
  const runtime = gw.runtime();
  const workers = createJobWorkers({
    connection: runtime.connection,
    prefix: gw.config.redis.queuePrefix,
    concurrency: 2,
    handlers,
    logger: runtime.logger,
  });
  try {
    await eventually(async () => {
      const finalize = await runtime.queues.find('composite.finalize', { appointmentId: id, generation: 0 });
      return (await finalize?.getState()) === 'failed' ? true : undefined;
    });
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

/** Runs the gateway's own worker until `done` holds. */
async function withWorker(done: () => Promise<boolean>): Promise<void> {
  const worker = await gw.startWorker();
  try {
    await eventually(async () => ((await done()) ? true : undefined));
  } finally {
    await worker.close();
  }
}

describe('a composite whose flow failed', () => {
  it('without its failure being recorded is released and failed by the sweeper, not left pending', async () => {
    const runtime = gw.runtime();
    // Every create after the first (the first segment: the flow books the last one first) is refused.
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: SLOT_TAKEN,
      skip: 1,
      count: 100,
    });
    const id = await composite('unrecorded-failure@example.org');
    // The real segment and finalize handlers; the segment's failure handler meets PostgreSQL away
    // (its first statement throws) on every attempt, so nothing records the failure and, once the
    // attempts are used up, the flow fails.
    await untilFinalizeFailed(id, {
      'composite.book-segment': {
        process: (payload, context) => processBookSegment(runtime, payload, context),
        onFinalFailure: async () => {
          throw new Error('Connection terminated unexpectedly');
        },
      },
      'composite.finalize': { process: (payload) => processFinalize(runtime, payload) },
    });
    gw.sandbox.control.clearFaults();
    expect(live(id)).toHaveLength(1);
    expect((await row(id))?.status).toBe('pending');

    // The sweeper adds the generation's compensation.
    await age(id);
    expect(await sweepStuckAppointments(runtime)).toBe(1);
    await withWorker(async () => (await row(id))?.status === 'failed');
    expect(live(id)).toHaveLength(0);
    // Swept again: the compensation is there, nothing is added twice.
    await age(id);
    expect(await sweepStuckAppointments(runtime)).toBe(0);
  });

  it('at its finalize only, every segment booked, runs the finalize again and keeps the booking', async () => {
    const runtime = gw.runtime();
    const id = await composite('finalize-failed@example.org');
    // The real segment handler; the finalize meets PostgreSQL away through all its attempts.
    await untilFinalizeFailed(id, {
      'composite.book-segment': {
        process: (payload, context) => processBookSegment(runtime, payload, context),
      },
      'composite.finalize': {
        process: async () => {
          throw new Error('Connection terminated unexpectedly');
        },
      },
    });
    expect(live(id)).toHaveLength(2);
    await age(id);
    expect(await sweepStuckAppointments(runtime)).toBe(1);
    await withWorker(async () => (await row(id))?.status === 'confirmed');
    expect(live(id)).toHaveLength(2);
  });
});
