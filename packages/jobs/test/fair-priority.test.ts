import { randomUUID } from 'node:crypto';
import { AppError } from '@calgate/errors';
import { deleteKeys } from '@calgate/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { fairPriority, requeuePriority } from '../src/fair-priority.ts';
import { createJobQueues, createJobWorkers, MAX_PRIORITY } from '../src/index.ts';

const connection = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const prefix = `t-${randomUUID().slice(0, 8)}`;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const queues = createJobQueues({ connection, prefix, maxRetries: 0 });

afterAll(async () => {
  await queues.close();
  // `${prefix}-...`: the prefixes of tests that need a queue of their own.
  await deleteKeys(connection, `${prefix}*`);
  await connection.quit();
});

const apt = () => `apt_${randomUUID().replaceAll('-', '')}`;

describe("a company's fair turn in a shared queue", () => {
  it("runs another company's job ahead of one company's backlog, in BullMQ's own order", async () => {
    const flood = [];
    for (let i = 0; i < 30; i++) {
      flood.push(await queues.enqueue('booking.create', { appointmentId: apt() }, { fairGroup: 'cmp_a' }));
    }
    expect(flood.map((job) => job.opts.priority)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // BullMQ's prioritized set holds them with score = priority * 2^32 + counter (the layout the
    // fair order reads): the next in line has priority 1.
    const [, headScore] = await connection.zrange(`${prefix}:bookings:prioritized`, 0, 0, 'WITHSCORES');
    expect(Math.floor(Number(headScore) / 2 ** 32)).toBe(1);

    const other = await queues.enqueue('booking.create', { appointmentId: apt() }, { fairGroup: 'cmp_b' });
    expect(other.opts.priority).toBe(1);

    const order: string[] = [];
    const workers = createJobWorkers({
      connection,
      prefix,
      concurrency: 1,
      logger: silent,
      handlers: {
        'booking.create': {
          async process(payload) {
            order.push(payload.appointmentId);
          },
        },
      },
    });
    try {
      await expect.poll(() => order.length, { timeout: 20_000 }).toBe(31);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    // B's one job ran second (after A's first, which it tied with and came after), not 31st.
    expect(order.indexOf(other.data.appointmentId)).toBe(1);
  });

  it('joins the line where it stands, not behind a company that has waited all along', async () => {
    const name = 'booking.cancel';
    // A's backlog has been worked down to its 21st job when B arrives.
    for (let i = 0; i < 40; i++) await queues.enqueue(name, { appointmentId: apt() }, { fairGroup: 'cmp_c' });
    const waiting = await connection.zrange(`${prefix}:bookings:prioritized`, 0, 19);
    await connection.zrem(`${prefix}:bookings:prioritized`, ...waiting);
    const late = await queues.enqueue(name, { appointmentId: apt() }, { fairGroup: 'cmp_d' });
    expect(late.opts.priority).toBe(21);
    const next = await queues.enqueue(name, { appointmentId: apt() }, { fairGroup: 'cmp_d' });
    expect(next.opts.priority).toBe(22);
    // With nothing waiting, every company starts from 1 again.
    await connection.del(`${prefix}:bookings:prioritized`);
    const fresh = await queues.enqueue(name, { appointmentId: apt() }, { fairGroup: 'cmp_c' });
    expect(fresh.opts.priority).toBe(1);
  });

  it("puts a job back for the budget at the back of its own company's line, behind a newcomer", async () => {
    const name = 'booking.reschedule';
    const jobs = [];
    for (let i = 0; i < 5; i++) {
      jobs.push(
        await queues.enqueue(name, { appointmentId: apt(), requestId: `r${i}` }, { fairGroup: 'cmp_e' }),
      );
    }
    const newcomer = await queues.enqueue(
      name,
      { appointmentId: apt(), requestId: 'n' },
      { fairGroup: 'cmp_f' },
    );
    const first = jobs[0];
    expect(first?.opts.priority).toBe(1);
    expect(newcomer.opts.priority).toBe(1);
    // E's first job, put back, goes behind E's fifth (and so behind F's).
    expect(await requeuePriority(connection, `${prefix}:bookings`, first?.id ?? '', 1)).toBe(6);
    // A job of no known company goes to where the line starts now.
    expect(await requeuePriority(connection, `${prefix}:bookings`, 'unknown-job', 1)).toBe(1);
  });

  it("stops at BullMQ's last priority, however far a company's line reaches", async () => {
    const queue = `${prefix}:capped`;
    // Something waits (the counters are kept), and the company's last place is the last there is.
    await connection.zadd(`${queue}:prioritized`, 2 ** 32, 'ahead');
    await connection.hset(`${queue}:fair`, 'cmp_z', String(MAX_PRIORITY));
    expect(await fairPriority(connection, queue, 'cmp_z', ['capped-1'])).toBe(MAX_PRIORITY);
    expect(await connection.hget(`${queue}:fair`, 'cmp_z')).toBe(String(MAX_PRIORITY));
  });

  it("records a composite flow's own jobs as its company's, so a segment put back finds its line", async () => {
    const appointmentId = apt();
    await queues.addCompositeFlow(appointmentId, 0, 3, { fairGroup: 'cmp_g' });
    const segment = (position: number) => `composite-segment-${appointmentId}-g0-p${position}`;
    expect(await connection.hgetall(`${prefix}:composite:fair-groups`)).toEqual({
      [segment(0)]: 'cmp_g',
      [segment(1)]: 'cmp_g',
      [segment(2)]: 'cmp_g',
      [`composite-finalize-${appointmentId}-g0`]: 'cmp_g',
    });
    // The last segment is the leaf, booked first, in the fair order with the flow's place.
    const leaf = await queues.queue('composite').getJob(segment(2));
    expect(await leaf?.getState()).toBe('prioritized');
    expect(leaf?.opts.priority).toBe(1);
    expect(await (await queues.queue('composite').getJob(segment(0)))?.getState()).toBe('waiting-children');
    // Put back for the budget, it goes behind its company's place (not back to the head).
    expect(await requeuePriority(connection, `${prefix}:composite`, segment(2), 1)).toBe(2);
  });

  it("forgets a finished job's company at once, while the jobs behind it still wait", async () => {
    // A queue of its own: the tests above leave jobs waiting in theirs.
    const own = createJobQueues({ connection, prefix: `${prefix}-finished`, maxRetries: 0 });
    const groups = `${prefix}-finished:bookings:fair-groups`;
    const [completes, fails, runs, waits] = [apt(), apt(), apt(), apt()];
    for (const appointmentId of [completes, fails, runs, waits]) {
      await own.enqueue('booking.create', { appointmentId }, { fairGroup: 'cmp_h' });
    }
    const id = (appointmentId: string) => `booking-create-${appointmentId}`;
    expect(await connection.hlen(groups)).toBe(4);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const workers = createJobWorkers({
      connection,
      prefix: `${prefix}-finished`,
      concurrency: 1,
      logger: silent,
      handlers: {
        'booking.create': {
          async process({ appointmentId }) {
            if (appointmentId === fails) throw new AppError('SLOT_UNAVAILABLE', 'taken', { retry: false });
            if (appointmentId === runs) await held;
          },
        },
      },
    });
    try {
      // The first completed, the second failed for good; the third runs, the fourth waits.
      await expect
        .poll(async () => (await connection.hkeys(groups)).sort(), { timeout: 20_000 })
        .toEqual([id(runs), id(waits)].sort());
      expect(await (await own.queue('bookings').getJob(id(waits)))?.getState()).toBe('prioritized');
      release();
      await expect.poll(() => connection.exists(groups), { timeout: 20_000 }).toBe(0);
    } finally {
      release();
      await Promise.all(workers.map((w) => w.close()));
      await own.close();
    }
  });
});
