import type { Config } from '@calgate/config';
import { createJobWorkers, errorLogFields } from '@calgate/jobs';
import { type Logger, withLogBindings } from '@calgate/telemetry';
import type { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { createWorkerDeps } from './deps.ts';
import { createHandlers } from './handlers.ts';
import { serveMetrics } from './metrics-server.ts';

/**
 * Connects the worker's dependencies and starts one BullMQ worker per queue. `close` waits for
 * active jobs to finish before releasing connections.
 */
export async function startWorkerHost(config: Config, logger: Logger): Promise<{ close(): Promise<void> }> {
  for (const warning of config.warnings) logger.warn(warning);
  const deps = createWorkerDeps(config, logger);
  await Promise.all([deps.db.execute(sql`select 1`), deps.redis.ping()]);
  const workers = createJobWorkers({
    connection: deps.connection,
    prefix: config.redis.queuePrefix,
    concurrency: config.worker.concurrency,
    lockDurationMs: config.worker.lockDurationMs,
    handlers: createHandlers(deps),
    logger,
    bindLogFields: withLogBindings,
    tracing: config.tracing,
    outboundRetryScheduleMs: config.outbound.retryScheduleMs,
    onJobEvent: (event) => {
      deps.metrics.jobs.inc({ queue: event.queue, name: event.name, outcome: event.outcome });
      if (event.reason !== undefined)
        deps.metrics.jobDelays.inc({ queue: event.queue, reason: event.reason });
      if (event.reason === 'budget') deps.metrics.budgetWaits.inc({ queue: event.queue });
      if (event.durationMs !== undefined) {
        deps.metrics.jobDuration.observe({ queue: event.queue, name: event.name }, event.durationMs / 1000);
      }
    },
  });
  const metricsServer =
    config.worker.metricsPort === undefined
      ? undefined
      : await serveMetrics(deps.metrics, config.http.host, config.worker.metricsPort, config.admin);
  const schedule = async () => {
    await upsertSchedules(deps.queues.queue('sync'), config);
    await deps.queues
      .queue('outbound')
      .upsertJobScheduler(
        'outbound-relay',
        { every: config.outbound.relayIntervalMs },
        { name: 'outbound.relay', data: {}, opts: { removeOnComplete: true, removeOnFail: { count: 100 } } },
      );
  };
  await schedule();
  // Redis without persistence forgets schedulers when it restarts: put them back when it returns.
  deps.connection.on('ready', () => {
    schedule().catch((error: unknown) =>
      logger.warn(errorLogFields(error).fields, 'could not restore job schedulers'),
    );
  });
  logger.info(
    {
      concurrency: config.worker.concurrency,
      queues: workers.map((w) => w.name),
      prefix: config.redis.queuePrefix,
    },
    'worker ready',
  );
  return {
    async close() {
      metricsServer?.close();
      await Promise.all(workers.map((worker) => worker.close()));
      await deps.close();
    },
  };
}

/** The recurring jobs: the sweeper, and the two syncs unless their interval is 0 (off). */
async function upsertSchedules(sync: Queue, config: Config): Promise<void> {
  await sync.upsertJobScheduler(
    'maintenance-sweep',
    { every: config.worker.sweepIntervalMs },
    { name: 'maintenance.sweep', data: {} },
  );
  await sync.upsertJobScheduler(
    'maintenance-retention',
    { every: 24 * 3_600_000 },
    { name: 'maintenance.retention', data: {} },
  );
  const periodic = [
    ['sync-event-types', config.sync.eventTypesEveryMinutes, 'event-types'],
    ['sync-reconcile', config.sync.reconcileEveryMinutes, 'reconcile'],
  ] as const;
  for (const [id, minutes, kind] of periodic) {
    if (minutes === 0) await sync.removeJobScheduler(id);
    else
      await sync.upsertJobScheduler(
        id,
        { every: minutes * 60_000 },
        { name: 'sync.fan-out', data: { kind } },
      );
  }
}
