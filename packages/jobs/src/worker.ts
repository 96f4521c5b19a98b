import {
  isAppError,
  isBackingServiceUnavailable,
  type StructuredLogger,
  withLogFields,
} from '@calgate/errors';
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
import { forgetFairJobs, requeuePriority } from './fair-priority.ts';

/** How often finished jobs' fair groups are forgotten, in one command per queue. */
const FORGET_EVERY_MS = 250;

export interface JobContext {
  job: Job;
  token: string | undefined;
  signal: AbortSignal | undefined;
  /** The worker's logger with this job's id, queue, attempt (and appointment id) on every line. */
  logger: StructuredLogger;
}

export interface JobHandler<N extends JobName> {
  process(payload: JobPayload<N>, context: JobContext): Promise<unknown>;
  /**
   * Runs once when the job fails for good (a final error, or the last attempt), before BullMQ
   * records the failure — the place to record the outcome in Postgres.
   */
  onFinalFailure?(payload: JobPayload<N>, error: unknown, context: JobContext): Promise<void>;
}

/** A handler for every job of the catalog: a job added to the catalog without one does not compile. */
export type JobHandlers = { [N in JobName]: JobHandler<N> };

/** Handlers for some jobs only (tests that run one queue); the worker host uses `JobHandlers`. */
export type SomeJobHandlers = Partial<JobHandlers>;

/** The fields every line written while a job runs carries. */
export type JobLogFields = Record<string, string | number | undefined>;

/**
 * Runs `fn` with `fields` on every log line written meanwhile (`withLogBindings` of
 * `@calgate/telemetry`); without it lines carry only what the boundary itself adds.
 */
export type BindLogFields = <T>(fields: JobLogFields, fn: () => T) => T;

export interface JobWorkersOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** @defaultValue 30000 (BullMQ's default) */
  lockDurationMs?: number;
  handlers: SomeJobHandlers;
  logger: StructuredLogger;
  /** Binds the job's fields to every line written while it runs. */
  bindLogFields?: BindLogFields;
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
  /** Why a job was delayed: its Cal.com key's budget, or PostgreSQL/Redis not answering. */
  reason?: DelayReason;
}) => void;

export type DelayReason = 'budget' | 'backing-service';

/** The job id, queue, attempt and (when the job has one) appointment id, for log lines. */
export function jobLogFields(job: Job): JobLogFields {
  const appointmentId = (job.data as { appointmentId?: unknown } | undefined)?.appointmentId;
  return {
    jobId: job.id,
    queue: job.queueName,
    attempt: job.attemptsMade + 1,
    ...(typeof appointmentId === 'string' ? { appointmentId } : {}),
  };
}

/**
 * Log fields for an error. Our own errors and unavailable backing services are expected
 * conditions: their code and message say all there is to say. Anything else is a bug, and only
 * a bug's line carries the stack trace (pino serialises `err` with it).
 */
export function errorLogFields(error: unknown): { bug: boolean; fields: Record<string, unknown> } {
  if (isAppError(error) && error.code !== 'INTERNAL') {
    return { bug: false, fields: { code: error.code, error: error.message } };
  }
  if (isBackingServiceUnavailable(error)) {
    const code = (error as { code?: unknown }).code;
    return {
      bug: false,
      fields: { code: typeof code === 'string' ? code : 'UNAVAILABLE', error: (error as Error).message },
    };
  }
  if (error instanceof UnrecoverableError) return { bug: false, fields: { error: error.message } };
  return { bug: true, fields: { err: error } };
}

const passThrough: BindLogFields = (_fields, fn) => fn();

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
export function createProcessor(
  handlers: SomeJobHandlers,
  logger: StructuredLogger,
  onJobEvent?: JobEventListener,
  bindLogFields: BindLogFields = passThrough,
  /** Errors this boundary has logged, so the worker's `failed` event does not log them again. */
  logged: WeakSet<object> = new WeakSet(),
  /** The queues' Redis: a job in the fair order put back for the budget takes its new place there. */
  connection?: Redis,
) {
  return async function processJob(job: Job, token?: string, signal?: AbortSignal): Promise<unknown> {
    const name = job.name;
    const handler = handlers[name as JobName] as JobHandler<JobName> | undefined;
    if (handler === undefined) throw new UnrecoverableError(`no handler for job ${name}`);
    const fields = jobLogFields(job);
    const context: JobContext = { job, token, signal, logger: withLogFields(logger, fields) };
    return bindLogFields(fields, async () => {
      const payload = parseJobPayload(name as JobName, job.data);
      try {
        const result = await handler.process(payload as never, context);
        logger.debug({ job: name, result }, 'job completed');
        return result;
      } catch (error) {
        // The handler moved its job to a later time itself (it waits its turn); not a failure.
        if (error instanceof DelayedError) throw error;
        // A used-up budget, or PostgreSQL (or Redis) away, is not the job's fault: wait without
        // spending an attempt, so that an outage never turns into failed bookings. Expected, so
        // counted in metrics and logged at debug only.
        const budgetMs = budgetDelayMs(error);
        const reason: DelayReason | undefined =
          budgetMs !== undefined
            ? 'budget'
            : isBackingServiceUnavailable(error)
              ? 'backing-service'
              : undefined;
        if (reason !== undefined && token !== undefined) {
          const delayMs = budgetMs ?? BACKING_SERVICE_WAIT_MS;
          logger.debug({ job: name, reason, delayMs }, 'job delayed');
          onJobEvent?.({ queue: job.queueName, name, outcome: 'delayed', durationMs: undefined, reason });
          // A job in the fair order goes back behind the job now next in line, not to its old place.
          const priority = job.opts.priority ?? 0;
          if (reason === 'budget' && priority > 0 && connection !== undefined) {
            const requeued = await requeuePriority(
              connection,
              job.queueQualifiedName,
              job.id ?? '',
              priority,
            );
            if (requeued !== priority) await job.changePriority({ priority: requeued });
          }
          await job.moveToDelayed(Date.now() + delayMs, token);
          throw new DelayedError();
        }
        const final = isFinal(job, error);
        const { bug, fields } = errorLogFields(error);
        if (bug) logger.error({ job: name, final, ...fields }, 'job attempt failed: unexpected error');
        else if (!final) logger.info({ job: name, ...fields }, 'job attempt failed, will retry');
        // A final expected failure is reported by the handler in the domain's words.
        else logger.debug({ job: name, ...fields }, 'job failed');
        if (final) {
          await handler.onFinalFailure?.(payload as never, error, context);
          if (isAppError(error) && !error.retry) {
            const unrecoverable = new UnrecoverableError(`${error.code}: ${error.message}`);
            logged.add(unrecoverable);
            throw unrecoverable;
          }
        }
        if (error !== null && typeof error === 'object') logged.add(error);
        throw error;
      }
    });
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
  const logged = new WeakSet<object>();
  const processor = createProcessor(
    options.handlers,
    options.logger,
    options.onJobEvent,
    options.bindLogFields,
    logged,
    options.connection,
  );
  const duration = (job: Job | undefined) =>
    job?.processedOn !== undefined && job.finishedOn !== undefined
      ? job.finishedOn - job.processedOn
      : undefined;
  // A job in the fair order (prioritized) that has finished for good drops its company from the
  // queue's `fair-groups` soon, rather than when the queue next goes idle: the finished ids are
  // collected and deleted in one command every FORGET_EVERY_MS (a command per job would be one
  // more Redis round trip per booking). If Redis does not answer, or the process stops first,
  // the entries stay until the queue idles, which costs nothing but their memory.
  const finished = new Map<string, string[]>();
  let forgetScheduled = false;
  const forgetNow = () => {
    forgetScheduled = false;
    for (const [qualifiedQueue, jobIds] of finished) {
      finished.delete(qualifiedQueue);
      forgetFairJobs(options.connection, qualifiedQueue, jobIds).catch((error: unknown) =>
        options.logger.debug(
          { queue: qualifiedQueue, ...errorLogFields(error).fields },
          "could not forget finished jobs' fair groups",
        ),
      );
    }
  };
  const forgetFinished = (job: Job) => {
    if ((job.opts.priority ?? 0) === 0 || job.id === undefined) return;
    const ids = finished.get(job.queueQualifiedName) ?? [];
    ids.push(job.id);
    finished.set(job.queueQualifiedName, ids);
    if (forgetScheduled) return;
    forgetScheduled = true;
    setTimeout(forgetNow, FORGET_EVERY_MS).unref();
  };
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
      // The processor logged what it threw; this catches failures decided outside it (a job
      // that stalled too often, a lost lock).
      if (!logged.has(error)) {
        const fields = job === undefined ? { queue: queueName } : { ...jobLogFields(job), job: job.name };
        options.logger.warn({ ...fields, ...errorLogFields(error).fields }, 'job failed');
      }
      if (job === undefined) return;
      const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
      if (final) forgetFinished(job);
      options.onJobEvent?.({
        queue: queueName,
        name: job.name,
        outcome: final ? 'failed' : 'retried',
        durationMs: duration(job),
      });
    });
    worker.on('completed', (job) => {
      forgetFinished(job);
      options.onJobEvent?.({
        queue: queueName,
        name: job.name,
        outcome: 'completed',
        durationMs: duration(job),
      });
    });
    worker.on('error', (error) => {
      const { bug, fields } = errorLogFields(error);
      if (bug) options.logger.error({ queue: queueName, ...fields }, 'worker error');
      else options.logger.warn({ queue: queueName, ...fields }, 'worker error');
    });
    return worker;
  });
}
