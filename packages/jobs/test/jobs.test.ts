import { randomUUID } from 'node:crypto';
import { AppError } from '@calgate/errors';
import { type Job, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobQueues, createJobWorkers, type JobHandlers } from '../src/index.ts';

const connection = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const prefix = `t-${randomUUID().slice(0, 8)}`;
const silent = { info() {}, warn() {}, error() {} };
const queues = createJobQueues({ connection, prefix, retryAttempts: 2 });

afterAll(async () => {
  await queues.close();
  const keys = await connection.keys(`${prefix}:*`);
  if (keys.length > 0) await connection.del(...keys);
  await connection.quit();
});

async function runUntilSettled(handlers: JobHandlers, job: Job): Promise<Job> {
  const events = new QueueEvents(job.queueName, { connection: connection.duplicate(), prefix });
  await events.waitUntilReady();
  const workers = createJobWorkers({ connection, prefix, concurrency: 1, handlers, logger: silent });
  try {
    await job.waitUntilFinished(events, 20_000).catch(() => undefined);
    const settled = await queues.queue('bookings').getJob(job.id ?? '');
    if (settled === undefined) throw new Error('job vanished');
    return settled;
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await events.close();
  }
}

describe('enqueue', () => {
  it('rejects a payload that does not match the job schema', async () => {
    await expect(queues.enqueue('booking.create', { appointmentId: 'not-an-id' })).rejects.toThrow();
  });

  it('uses deterministic ids, so enqueueing the same work twice adds one job', async () => {
    const a = await queues.enqueue('booking.cancel', { appointmentId: 'apt_dedupe' });
    const b = await queues.enqueue('booking.cancel', { appointmentId: 'apt_dedupe' });
    expect(a.id).toBe('booking-cancel-apt_dedupe');
    expect(b.id).toBe(a.id);
    expect(await queues.queue('bookings').getJobCountByTypes('waiting')).toBe(1);
    expect(a.opts.attempts).toBe(3);
    await queues.queue('bookings').obliterate({ force: true });
  });
});

describe('the job boundary', () => {
  it('fails a final error at once and records the outcome first', async () => {
    const failures: unknown[] = [];
    let calls = 0;
    const job = await queues.enqueue('booking.create', { appointmentId: 'apt_final' });
    const settled = await runUntilSettled(
      {
        'booking.create': {
          async process() {
            calls++;
            throw new AppError('SLOT_UNAVAILABLE', 'taken');
          },
          async onFinalFailure(_payload, error) {
            failures.push(error);
          },
        },
      },
      job,
    );
    expect(calls).toBe(1);
    expect(await settled.getState()).toBe('failed');
    expect(failures).toHaveLength(1);
    await queues.queue('bookings').obliterate({ force: true });
  });

  it('retries retryable errors and calls onFinalFailure only after the last attempt', async () => {
    let calls = 0;
    let finalCalls = 0;
    const job = await queues.enqueue(
      'booking.create',
      { appointmentId: 'apt_retry' },
      { backoff: { type: 'fixed', delay: 10 } },
    );
    const settled = await runUntilSettled(
      {
        'booking.create': {
          async process() {
            calls++;
            throw new AppError('UPSTREAM_UNAVAILABLE', 'down', { retry: true });
          },
          async onFinalFailure() {
            finalCalls++;
          },
        },
      },
      job,
    );
    expect(calls).toBe(3);
    expect(finalCalls).toBe(1);
    expect(await settled.getState()).toBe('failed');
    await queues.queue('bookings').obliterate({ force: true });
  });

  it('delays a job whose budget is used up without spending an attempt', async () => {
    let calls = 0;
    const job = await queues.enqueue('booking.create', { appointmentId: 'apt_budget' });
    const settled = await runUntilSettled(
      {
        'booking.create': {
          async process() {
            calls++;
            if (calls === 1) {
              throw new AppError('RATE_LIMIT_EXCEEDED', 'budget', {
                retry: true,
                details: { retryAfterMs: 200 },
              });
            }
            return 'done';
          },
        },
      },
      job,
    );
    expect(calls).toBe(2);
    expect(await settled.getState()).toBe('completed');
    expect(settled.attemptsMade).toBe(1);
    await queues.queue('bookings').obliterate({ force: true });
  });
});
