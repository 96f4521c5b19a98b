import type { Config } from '@calgate/config';
import { createJobWorkers } from '@calgate/jobs';
import type { Logger } from '@calgate/telemetry';
import { sql } from 'drizzle-orm';
import { createWorkerDeps } from './deps.ts';
import { createHandlers } from './handlers.ts';

/** How often the sweeper looks for work Postgres holds but Redis lost. */
const SWEEP_EVERY_MS = 30_000;

/**
 * Connects the worker's dependencies and starts one BullMQ worker per queue. `close` waits for
 * active jobs to finish before releasing connections.
 */
export async function startWorkerHost(config: Config, logger: Logger): Promise<{ close(): Promise<void> }> {
  const deps = createWorkerDeps(config, logger);
  await Promise.all([deps.db.execute(sql`select 1`), deps.redis.ping()]);
  const workers = createJobWorkers({
    connection: deps.connection,
    prefix: config.redis.queuePrefix,
    concurrency: config.worker.concurrency,
    lockDurationMs: config.worker.lockDurationMs,
    handlers: createHandlers(deps),
    logger,
  });
  await deps.queues
    .queue('sync')
    .upsertJobScheduler(
      'maintenance-sweep',
      { every: SWEEP_EVERY_MS },
      { name: 'maintenance.sweep', data: {} },
    );
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
      await Promise.all(workers.map((worker) => worker.close()));
      await deps.close();
    },
  };
}
