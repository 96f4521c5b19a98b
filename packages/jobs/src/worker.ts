import { isAppError, isBackingServiceUnavailable } from '@calgate/errors';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import type { Redis } from 'ioredis';
import {
  type JobName,
  type JobPayload,
  jobCatalog,
  OUTBOUND_BACKOFF,
  parseJobPayload,
  type QueueName,
} from './catalog.ts';

export interface JobContext {
  job: Job;
  token: string | undefined;
  signal: AbortSignal | undefined;
}

export interface JobHandler<N extends JobName> {
  process(payload: JobPayload<N>, context: JobContext): Promise<unknown>;
  /**
   * Runs once when the job fails for good (a final error, or the last attempt), before BullMQ
   * records the failure — the place to record the outcome in Postgres.
   */
  onFinalFailure?(payload: JobPayload<N>, error: unknown, context: JobContext): Promise<void>;
}

export type JobHandlers = { [N in JobName]?: JobHandler<N> };

export interface MinimalLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface JobWorkersOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** @defaultValue 30000 (BullMQ's default) */
  lockDurationMs?: number;
  handlers: JobHandlers;
  logger: MinimalLogger;
  /** Continue the trace carried in each job (bullmq-otel). @defaultValue true */
  tracing?: boolean;
  /** Observes every finished attempt (metrics). */
  onJobEvent?: JobEventListener;
  /** Delays between the attempts of an outbound delivery. @defaultValue the last one repeated: 1 s */
  outboundRetryScheduleMs?: number[];
}

export type JobEventListener = (event: {
  queue: string;
  name: string;
  outcome: 'completed' | 'retried' | 'failed' | 'delayed';
  durationMs: number | undefined;
}) => void;

function isFinal(job: Job, error: unknown): boolean {
  if (isAppError(error) && !error.retry) return true;
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** How long to delay a job whose Cal.com key has no budget left, from the error's details. */
function budgetDelayMs(error: unknown): number | undefined {
  if (!isAppError(error) || error.code !== 'RATE_LIMIT_EXCEEDED') return undefined;
  const retryAfter = error.details?.retryAfterMs;
  return typeof retryAfter === 'number' && retryAfter > 0 ? retryAfter : 60_000;
}

/** How long a job waits when PostgreSQL or Redis is not answering (no attempt is spent). */
export const BACKING_SERVICE_WAIT_MS = 2_000;

/**
 * The job boundary: re-parses the payload, runs the handler, and turns our errors into BullMQ's
 * vocabulary — a used-up budget or a Cal.com 429 delays the job without spending an attempt,
 * a final error fails it at once, anything else is rethrown for BullMQ's backoff.
 */
export function createProcessor(handlers: JobHandlers, logger: MinimalLogger, onJobEvent?: JobEventListener) {
  return async function processJob(job: Job, token?: string, signal?: AbortSignal): Promise<unknown> {
    const name = job.name;
    const handler = handlers[name as JobName] as JobHandler<JobName> | undefined;
    if (handler === undefined) throw new UnrecoverableError(`no handler for job ${name}`);
    const context: JobContext = { job, token, signal };
    const payload = parseJobPayload(name as JobName, job.data);
    try {
      return await handler.process(payload as never, context);
    } catch (error) {
      // The handler moved its job to a later time itself (it waits its turn); not a failure.
      if (error instanceof DelayedError) throw error;
      // PostgreSQL (or Redis) away is not the job's fault: wait for it without spending an
      // attempt, so that an outage never turns into failed bookings.
      const delayMs =
        budgetDelayMs(error) ?? (isBackingServiceUnavailable(error) ? BACKING_SERVICE_WAIT_MS : undefined);
      if (delayMs !== undefined && token !== undefined) {
        logger.info(
          { jobId: job.id, job: name, delayMs, err: error },
          isBackingServiceUnavailable(error)
            ? 'backing service unavailable: job delayed'
            : 'Cal.com budget exhausted: job delayed',
        );
        onJobEvent?.({ queue: job.queueName, name, outcome: 'delayed', durationMs: undefined });
        await job.moveToDelayed(Date.now() + delayMs, token);
        throw new DelayedError();
      }
      if (isFinal(job, error)) {
        await handler.onFinalFailure?.(payload as never, error, context);
        if (isAppError(error) && !error.retry)
          throw new UnrecoverableError(`${error.code}: ${error.message}`);
      }
      throw error;
    }
  };
}

/** Compensation retries for a long time: 1 s doubling, never more than a minute apart. */
export const MAX_BACKOFF_MS = 60_000;
export function cappedExponential(attemptsMade: number, type?: string): number {
  if (type !== 'capped-exponential') return 1_000;
  const base = Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * The custom backoff types: `capped-exponential` (compensation) and the outbound schedule, whose
 * delays get up to 10% of jitter so that the retries of many deliveries to one endpoint spread.
 */
export function customBackoff(outboundScheduleMs: number[]) {
  return (attemptsMade: number, type?: string, error?: Error): number => {
    if (type !== OUTBOUND_BACKOFF) return cappedExponential(attemptsMade, type);
    const delay = outboundScheduleMs[Math.min(attemptsMade, outboundScheduleMs.length) - 1] ?? 1_000;
    // A receiver's Retry-After (carried as `notBeforeMs`) is honoured up to a day.
    const notBefore = isAppError(error) ? error.details?.notBeforeMs : undefined;
    const floor = typeof notBefore === 'number' ? Math.min(notBefore, MAX_RETRY_AFTER_MS) : 0;
    return Math.max(floor, Math.round(delay * (1 + Math.random() * 0.1)));
  };
}

const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** One BullMQ worker per queue that has handlers. */
export function createJobWorkers(options: JobWorkersOptions): Worker[] {
  const telemetry = options.tracing === false ? undefined : new BullMQOtel({ tracerName: 'calgate' });
  const queues = new Set<QueueName>(
    (Object.keys(options.handlers) as JobName[]).map((name) => jobCatalog[name].queue),
  );
  const processor = createProcessor(options.handlers, options.logger, options.onJobEvent);
  const duration = (job: Job | undefined) =>
    job?.processedOn !== undefined && job.finishedOn !== undefined
      ? job.finishedOn - job.processedOn
      : undefined;
  return [...queues].map((queueName) => {
    const worker = new Worker(queueName, processor, {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      ...(telemetry === undefined ? {} : { telemetry }),
      // A killed worker's jobs come back as stalled once their lock lapses; allow a few crashes
      // before giving up on a job.
      maxStalledCount: 5,
      lockDuration: options.lockDurationMs ?? 30_000,
      settings: { backoffStrategy: customBackoff(options.outboundRetryScheduleMs ?? [1_000]) },
      stalledInterval: options.lockDurationMs ?? 30_000,
    });
    worker.on('failed', (job, error) => {
      options.logger.warn({ jobId: job?.id, job: job?.name, err: error }, 'job attempt failed');
      if (job === undefined) return;
      const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
      options.onJobEvent?.({
        queue: queueName,
        name: job.name,
        outcome: final ? 'failed' : 'retried',
        durationMs: duration(job),
      });
    });
    worker.on('completed', (job) =>
      options.onJobEvent?.({
        queue: queueName,
        name: job.name,
        outcome: 'completed',
        durationMs: duration(job),
      }),
    );
    worker.on('error', (error) => options.logger.error({ err: error, queue: queueName }, 'worker error'));
    return worker;
  });
}
