import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { AppError, type StructuredLogger } from '@calgate/errors';
import { deleteKeys } from '@calgate/testkit';
import { type Job, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type BindLogFields, createJobQueues, createJobWorkers, type SomeJobHandlers } from '../src/index.ts';

const connection = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const prefix = `t-${randomUUID().slice(0, 8)}`;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const queues = createJobQueues({ connection, prefix, maxRetries: 2 });

afterAll(async () => {
  await queues.close();
  await deleteKeys(connection, `${prefix}:*`);
  await connection.quit();
});

async function runUntilSettled(
  handlers: SomeJobHandlers,
  job: Job,
  logging: { logger: StructuredLogger; bindLogFields?: BindLogFields } = { logger: silent },
): Promise<Job> {
  const events = new QueueEvents(job.queueName, { connection: connection.duplicate(), prefix });
  await events.waitUntilReady();
  const workers = createJobWorkers({ connection, prefix, concurrency: 1, handlers, ...logging });
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

  describe('its log lines', () => {
    // A logger that records each line with the fields bound for the job, as pino's mixin does.
    function recorder() {
      const bound = new AsyncLocalStorage<Record<string, unknown>>();
      const lines: Array<{ level: string; msg: string | undefined } & Record<string, unknown>> = [];
      const at =
        (level: string) =>
        (obj: object, msg?: string): void => {
          lines.push({ ...bound.getStore(), ...obj, level, msg });
        };
      const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
      const bindLogFields: BindLogFields = (fields, fn) => bound.run(fields, fn);
      return { lines, logger, bindLogFields };
    }

    it('logs a budget delay at debug, without the error, and every line carries the job', async () => {
      const log = recorder();
      let calls = 0;
      const job = await queues.enqueue('booking.create', { appointmentId: 'apt_logged' });
      await runUntilSettled(
        {
          'booking.create': {
            async process() {
              calls++;
              if (calls === 1) {
                throw new AppError('RATE_LIMIT_EXCEEDED', 'budget', {
                  retry: true,
                  details: { retryAfterMs: 100 },
                });
              }
              return 'done';
            },
          },
        },
        job,
        log,
      );
      const delayed = log.lines.find((l) => l.msg === 'job delayed');
      expect(delayed).toMatchObject({ level: 'debug', reason: 'budget', delayMs: 100 });
      expect(delayed).not.toHaveProperty('err');
      expect(log.lines.filter((l) => l.level !== 'debug')).toEqual([]);
      for (const line of log.lines) {
        expect(line).toMatchObject({
          jobId: 'booking-create-apt_logged',
          queue: 'bookings',
          attempt: 1,
          appointmentId: 'apt_logged',
        });
      }
      await queues.queue('bookings').obliterate({ force: true });
    });

    it("hands the handler a child logger carrying the job's id and attempt", async () => {
      const log = recorder();
      let attempts = 0;
      const job = await queues.enqueue('booking.create', { appointmentId: 'apt_child' });
      await runUntilSettled(
        {
          'booking.create': {
            async process(_payload, context) {
              attempts++;
              context.logger.info({ step: attempts }, 'handler line');
              if (attempts === 1) throw new AppError('UPSTREAM_UNAVAILABLE', 'try again', { retry: true });
              return 'done';
            },
          },
        },
        job,
        // No bound fields: what the line carries comes from the child logger alone.
        { logger: log.logger },
      );
      const lines = log.lines.filter((l) => l.msg === 'handler line');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ jobId: 'booking-create-apt_child', attempt: 1, step: 1 });
      expect(lines[1]).toMatchObject({ jobId: 'booking-create-apt_child', attempt: 2, step: 2 });
      await queues.queue('bookings').obliterate({ force: true });
    });

    it('gives a stack trace to a bug only; an expected failure is its code and message', async () => {
      const log = recorder();
      const expected = await queues.enqueue('booking.create', { appointmentId: 'apt_expected' });
      await runUntilSettled(
        {
          'booking.create': {
            async process() {
              throw new AppError('SLOT_UNAVAILABLE', 'taken');
            },
          },
        },
        expected,
        log,
      );
      const bug = await queues.enqueue('booking.create', { appointmentId: 'apt_bug' });
      await runUntilSettled(
        {
          'booking.create': {
            async process() {
              throw new TypeError('undefined is not a function');
            },
          },
        },
        bug,
        log,
      );
      const forExpected = log.lines.filter((l) => l.appointmentId === 'apt_expected');
      expect(forExpected.length).toBeGreaterThan(0);
      expect(forExpected.every((l) => l.err === undefined && l.level === 'debug')).toBe(true);
      expect(forExpected).toContainEqual(
        expect.objectContaining({ code: 'SLOT_UNAVAILABLE', error: 'taken' }),
      );
      const forBug = log.lines.filter((l) => l.appointmentId === 'apt_bug');
      expect(forBug.filter((l) => l.level === 'error')).toHaveLength(3);
      expect(String((forBug[0]?.err as Error | undefined)?.stack)).toContain(
        'TypeError: undefined is not a function',
      );
      await queues.queue('bookings').obliterate({ force: true });
    });
  });
});
