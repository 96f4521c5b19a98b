import { createBudget } from '@calgate/budget';
import type { Config } from '@calgate/config';
import { createDb, parseEncryptionKey } from '@calgate/db';
import {
  createCalcomAccess,
  createCounters,
  createOutcomeNotifier,
  createOutcomeWaiter,
  type DomainDeps,
  type OutcomeWaiter,
  observeCalcom,
  observeCounters,
  SlotCache,
} from '@calgate/domain';
import { createJobQueues } from '@calgate/jobs';
import type { Logger } from '@calgate/telemetry';
import { createMetrics, type Metrics } from '@calgate/telemetry/metrics';
import { Redis } from 'ioredis';
import type postgres from 'postgres';

/** Everything the API's routes need, built once in `main.ts` (or by a test) and passed down. */
export interface ApiDeps extends DomainDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  sql: postgres.Sql;
  waiter: OutcomeWaiter;
}

/** Connects to Postgres and Redis and builds the domain's collaborators. `close` releases all. */
export function createApiDeps(config: Config, logger: Logger): ApiDeps & { close(): Promise<void> } {
  const {
    db,
    sql,
    close: closeDb,
  } = createDb(config.database.url, {
    max: config.database.poolMax,
    applicationName: 'calgate-api',
  });
  // Request-path commands fail fast while Redis is away instead of queueing behind a reconnect.
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const subscriber = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  subscriber.on('error', (error) => logger.warn({ err: error }, 'redis subscriber connection error'));
  // BullMQ wants its own connection with unlimited retries; enqueue errors are handled by the caller.
  const queueConnection = new Redis(config.redis.url, {
    maxRetriesPerRequest: null,
    enableOfflineQueue: false,
  });
  queueConnection.on('error', (error) => logger.warn({ err: error }, 'redis queue connection error'));

  const prefix = config.redis.queuePrefix;
  const metrics = createMetrics({ service: 'calgate-api' });
  const budget = createBudget({ redis, prefix, limitPerMinute: config.calcom.rateLimitPerMinute });
  const queues = createJobQueues({
    connection: queueConnection,
    prefix,
    retryAttempts: config.calcom.retryAttempts,
    compensationAttempts: config.worker.compensationAttempts,
  });
  const calcom = createCalcomAccess({
    baseUrl: config.calcom.baseUrl,
    defaultApiKey: config.calcom.apiKey,
    bookingsApiVersion: config.calcom.bookingsApiVersion,
    timeoutMs: config.calcom.timeoutMs,
    debug: config.calcom.debug,
    encryptionKey: parseEncryptionKey(config.secretsEncryptionKey),
    budget,
    logger,
    onResponse: observeCalcom(metrics),
  });
  return {
    config,
    logger,
    metrics,
    db,
    sql,
    redis,
    redisPrefix: prefix,
    queues,
    budget,
    calcom,
    slotCache: new SlotCache({ redis, prefix, ttlSeconds: config.availability.cacheTtlSeconds }),
    outcomes: createOutcomeNotifier(redis, prefix),
    counters: createCounters(redis, prefix, observeCounters(metrics)),
    waiter: createOutcomeWaiter(subscriber, prefix),
    async close() {
      await this.waiter.close();
      await queues.close();
      queueConnection.disconnect();
      redis.disconnect();
      await closeDb();
    },
  };
}
