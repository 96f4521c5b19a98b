import { createBudget } from '@calgate/budget';
import type { Config } from '@calgate/config';
import { createDb, parseEncryptionKey } from '@calgate/db';
import {
  createCalcomAccess,
  createCounters,
  createOutcomeNotifier,
  type DomainDeps,
  observeCalcom,
  observeCounters,
  SlotCache,
} from '@calgate/domain';
import { createJobQueues } from '@calgate/jobs';
import type { Logger } from '@calgate/telemetry';
import { createMetrics, type Metrics } from '@calgate/telemetry/metrics';
import { Redis } from 'ioredis';

export interface WorkerDeps extends DomainDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** BullMQ's connection (blocking commands need maxRetriesPerRequest: null). */
  connection: Redis;
  close(): Promise<void>;
}

export function createWorkerDeps(config: Config, logger: Logger): WorkerDeps {
  const { db, close: closeDb } = createDb(config.database.url, {
    max: config.database.poolMax,
    applicationName: 'calgate-worker',
  });
  const connection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  connection.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 3 });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const prefix = config.redis.queuePrefix;
  const metrics = createMetrics({ service: 'calgate-worker' });
  const budget = createBudget({ redis, prefix, limitPerMinute: config.calcom.rateLimitPerMinute });
  const queues = createJobQueues({
    connection,
    prefix,
    retryAttempts: config.calcom.retryAttempts,
    compensationAttempts: config.worker.compensationAttempts,
  });
  return {
    config,
    logger,
    metrics,
    db,
    redis,
    redisPrefix: prefix,
    connection,
    queues,
    budget,
    calcom: createCalcomAccess({
      baseUrl: config.calcom.baseUrl,
      defaultApiKey: config.calcom.apiKey,
      bookingsApiVersion: config.calcom.bookingsApiVersion,
      timeoutMs: config.calcom.timeoutMs,
      debug: config.calcom.debug,
      encryptionKey: parseEncryptionKey(config.secretsEncryptionKey),
      budget,
      logger,
      onResponse: observeCalcom(metrics),
    }),
    slotCache: new SlotCache({ redis, prefix, ttlSeconds: config.availability.cacheTtlSeconds }),
    outcomes: createOutcomeNotifier(redis, prefix),
    counters: createCounters(redis, prefix, observeCounters(metrics)),
    async close() {
      await queues.close();
      await redis.quit().catch(() => undefined);
      await connection.quit().catch(() => undefined);
      await closeDb();
    },
  };
}
