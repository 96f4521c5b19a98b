import { appointments } from '@calgate/db';
import { processBookSegment, processFinalize, sweepStuckAppointments } from '@calgate/domain';
import { createJobWorkers } from '@calgate/jobs';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('a composite whose failure was never recorded', () => {
  it('is released and failed by the sweeper, not left pending', async () => {
    const runtime = gw.runtime();
    // Every create after the first (the first segment: the flow books the last one first) is refused.
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: SLOT_TAKEN,
      skip: 1,
      count: 100,
    });
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token),
      payload: {
        serviceId: gw.company.serviceIds[2],
        start: berlin(testDay(), '09:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Unrecorded Failure', email: 'unrecorded-failure@example.org' },
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const live = () =>
      gw.sandbox.control
        .bookings()
        .filter((b) => b.metadata.calgateAppointmentId === id && b.status === 'accepted');
    // The real segment and finalize handlers; the segment's failure handler meets PostgreSQL away
    // (its first statement throws) on every attempt, so nothing records the failure and, once the
    // attempts are used up, the flow fails.
    const workers = createJobWorkers({
      connection: runtime.connection,
      prefix: gw.config.redis.queuePrefix,
      concurrency: 2,
      handlers: {
        'composite.book-segment': {
          process: (payload, context) => processBookSegment(runtime, payload, context),
          onFinalFailure: async () => {
            throw new Error('Connection terminated unexpectedly');
          },
        },
        'composite.finalize': { process: (payload) => processFinalize(runtime, payload) },
      },
      logger: runtime.logger,
    });
    try {
      await eventually(async () => {
        const finalize = await runtime.queues.find('composite.finalize', {
          appointmentId: id,
          generation: 0,
        });
        return (await finalize?.getState()) === 'failed' ? true : undefined;
      });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      gw.sandbox.control.clearFaults();
    }
    expect(live()).toHaveLength(1);
    const row = async () =>
      (await gw.database.db.select().from(appointments).where(eq(appointments.id, id)))[0];
    expect((await row())?.status).toBe('pending');

    // Past the sweeper's grace period: it adds the generation's compensation.
    await gw.database.db
      .update(appointments)
      .set({ updatedAt: sql`${appointments.updatedAt} - interval '1 minute'` })
      .where(eq(appointments.id, id));
    expect(await sweepStuckAppointments(runtime)).toBe(1);
    await gw.startWorker();
    await eventually(async () => ((await row())?.status === 'failed' ? true : undefined));
    expect(live()).toHaveLength(0);
    // Swept again: the compensation is there, nothing is added twice.
    await gw.database.db
      .update(appointments)
      .set({ updatedAt: sql`${appointments.updatedAt} - interval '1 minute'` })
      .where(eq(appointments.id, id));
    expect(await sweepStuckAppointments(runtime)).toBe(0);
  });
});
