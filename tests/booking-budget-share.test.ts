import type { Claimant } from '@calgate/budget';
import { appointments } from '@calgate/db';
import { type DomainDeps, processCreateBooking } from '@calgate/domain';
import type { JobContext } from '@calgate/jobs';
import type { DomainRuntime } from '@calgate/runtime';
import { seedCompany } from '@calgate/testkit';
import { Queue } from 'bullmq';
import { eq, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { berlin, type Gateway, postBooking, startGateway, testDay } from './support/gateway.ts';

// A simple booking's job takes its Cal.com budget share while its first statement runs, not
// after it: one hop less before the send. No worker runs here: each job is run by hand, from the
// job the intake enqueued, with the budget's acquisitions recorded.
let gw: Gateway;
let runtime: DomainRuntime;
let queue: Queue;
let queueConnection: Redis;
beforeAll(async () => {
  gw = await startGateway({ worker: false });
  runtime = gw.runtime();
  queueConnection = new Redis(gw.config.redis.url, { maxRetriesPerRequest: null });
  queue = new Queue('bookings', { connection: queueConnection, prefix: gw.config.redis.queuePrefix });
});
afterAll(async () => {
  await queue.close();
  await queueConnection.quit();
  await gw.close();
});

/** Every acquisition of the budget from now on, and a promise for the first one. */
function recordAcquisitions(deps: DomainRuntime) {
  const claimants: Array<Claimant | undefined> = [];
  let acquired: () => void = () => undefined;
  const first = new Promise<void>((resolve) => {
    acquired = resolve;
  });
  const original = deps.budget.acquire;
  deps.budget.acquire = (keyId, claimant, signal, waitMs) => {
    claimants.push(claimant);
    acquired();
    return original(keyId, claimant, signal, waitMs);
  };
  return {
    claimants,
    /** Resolves once the budget was acquired, or rejects after `ms` without that. */
    firstWithin: (ms: number) =>
      Promise.race([
        first,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`no budget acquisition within ${ms} ms`)), ms).unref(),
        ),
      ]),
    restore: () => {
      deps.budget.acquire = original;
    },
  };
}

/** Asks for a booking (no worker: it stays pending) and returns the job the intake enqueued. */
async function pendingBooking(start: string, email: string) {
  const res = await postBooking(gw, {
    staffId: gw.company.staffIds[0],
    start,
    customer: { name: 'Dana Client', email },
  });
  expect(res.statusCode).toBe(202);
  const appointmentId = res.json().id as string;
  const job = await queue.getJob(`booking-create-${appointmentId}`);
  if (job === undefined) throw new Error('the intake enqueued no job');
  return { appointmentId, job };
}

const contextOf = (job: JobContext['job']): JobContext => ({
  job,
  token: undefined,
  signal: undefined,
  logger: runtime.logger,
});

const statusOf = async (id: string) =>
  (await gw.database.db.select().from(appointments).where(eq(appointments.id, id)))[0];

describe("a simple booking job's budget share", () => {
  const day = testDay();

  it('is taken while the first statement waits, and serves the send (one share, one booking)', async () => {
    // The worker has resolved this company's key once (any earlier call does that).
    const company = { id: gw.company.companyId, calcomApiKeyEncrypted: null };
    expect(runtime.calcom.lastKeyOf(company.id)).toBeUndefined();
    runtime.calcom.forCompany(company);
    expect(runtime.calcom.lastKeyOf(company.id)).toBe(runtime.calcom.defaultKeyId);

    const { appointmentId, job } = await pendingBooking(berlin(day, '10:00'), 'share-early@example.org');
    // The intake names the company in the job.
    expect(job.data).toMatchObject({ appointmentId, companyId: gw.company.companyId });

    const budget = recordAcquisitions(runtime);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      // The appointment's row is locked elsewhere: the job's first statement (which records the
      // at-most-once marker) waits for it, and the share must be taken meanwhile.
      let locked: () => void = () => undefined;
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const lock = gw.database.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from appointments where id = ${appointmentId} for update`);
        locked();
        await released;
      });
      await isLocked;
      const run = processCreateBooking(runtime as DomainDeps, job.data, contextOf(job));
      await budget.firstWithin(10_000);
      // A share taken early is kept for PREPAID_MS (half a second): on a busy machine the steps
      // below could outlast it, and the send would then take a second share. The clock that
      // measures it stands still from here on.
      vi.useFakeTimers({ toFake: ['Date'] });
      expect((await statusOf(appointmentId))?.bookingSentAt).toBeNull();
      release();
      await lock;

      expect(await run).toBe('confirmed');
      const row = await statusOf(appointmentId);
      expect(row?.status).toBe('confirmed');
      expect(row?.calcomBookingUid).toBeTruthy();
      // One share for the one call the booking made: the send used the share taken early.
      expect(budget.claimants).toEqual([{ companyId: gw.company.companyId, kind: 'interactive' }]);
      expect(
        gw.sandbox.control.requests(0).filter((r) => r.createdUid === row?.calcomBookingUid),
      ).toHaveLength(1);
    } finally {
      vi.useRealTimers();
      release();
      budget.restore();
    }
  });

  it("taken for another company than the appointment's, is not spent for it: the send takes the right company's", async () => {
    // A neighbour on the same Cal.com key, whose key this process knows too.
    const neighbour = await seedCompany(gw.database.db, { name: 'Neighbour' });
    runtime.calcom.forCompany({ id: neighbour.companyId, calcomApiKeyEncrypted: null });
    runtime.calcom.forCompany({ id: gw.company.companyId, calcomApiKeyEncrypted: null });

    const { appointmentId, job } = await pendingBooking(berlin(day, '11:00'), 'share-other@example.org');
    await job.updateData({ ...job.data, companyId: neighbour.companyId });
    const budget = recordAcquisitions(runtime);
    try {
      expect(await processCreateBooking(runtime as DomainDeps, job.data, contextOf(job))).toBe('confirmed');
      expect(budget.claimants).toEqual([
        { companyId: neighbour.companyId, kind: 'interactive' },
        { companyId: gw.company.companyId, kind: 'interactive' },
      ]);
      expect((await statusOf(appointmentId))?.companyId).toBe(gw.company.companyId);
    } finally {
      budget.restore();
    }
  });

  it('is taken after the first statement on a later attempt (that run may adopt instead of sending)', async () => {
    const { appointmentId, job } = await pendingBooking(berlin(day, '12:00'), 'share-retry@example.org');
    Object.assign(job, { attemptsMade: 1 });
    const budget = recordAcquisitions(runtime);
    try {
      expect(await processCreateBooking(runtime as DomainDeps, job.data, contextOf(job))).toBe('confirmed');
      // The lookup of an earlier send, then the send: each its own share, none taken early.
      expect(budget.claimants.map((c) => c?.companyId)).toEqual([gw.company.companyId, gw.company.companyId]);
      expect((await statusOf(appointmentId))?.status).toBe('confirmed');
    } finally {
      budget.restore();
    }
  });
});
