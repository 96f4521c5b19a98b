import { createBudget } from '@calgate/budget';
import type { Config } from '@calgate/config';
import { createDb, keyringFrom } from '@calgate/db';
import {
  createCalcomAccess,
  createCounters,
  createOutcomeNotifier,
  type DomainDeps,
  observeCalcom,
  observeCounters,
  SlotCache,
  SlotMirror,
} from '@calgate/domain';
import { createJobQueues, errorLogFields } from '@calgate/jobs';
import { calcomLogger, type Logger } from '@calgate/telemetry';
import { createMetrics, type Metrics } from '@calgate/telemetry/metrics';
import { Redis } from 'ioredis';
import type postgres from 'postgres';

export interface DomainRuntime extends DomainDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  sql: postgres.Sql;
  /** BullMQ's connection (blocking commands need maxRetriesPerRequest: null). */
  connection: Redis;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** `calgate-api`, `calgate-worker`, `calgate-cli`: the Postgres application name and metrics label. */
  service: string;
  /**
   * Request-path processes fail fast while Redis is away (an HTTP answer must not wait behind a
   * reconnect); workers and commands wait for it.
   */
  failFast: boolean;
  /**
   * A subscriber connection (named with `connectionName`) on which Redis may send slot-cache
   * invalidations: the process then keeps a local copy of cached days (the API does).
   */
  mirrorSlotsVia?: Redis;
}

/**
 * Connects to Postgres and Redis and builds every collaborator the domain needs, once per
 * process. The API, the worker and the operator CLI all start from here.
 */
export function createDomainRuntime(config: Config, logger: Logger, options: RuntimeOptions): DomainRuntime {
  const {
    db,
    sql,
    close: closeDb,
  } = createDb(config.database.url, {
    max: config.database.poolMax,
    applicationName: options.service,
  });
  // Commands issued in the same tick go out in one write (ioredis' auto-pipelining): under load a
  // write per command was the largest cost of a warm availability answer (the socket syscall).
  // Nothing on this connection blocks (BullMQ has its own).
  const redis = new Redis(config.redis.url, {
    enableAutoPipelining: true,
    ...(options.failFast
      ? { maxRetriesPerRequest: 1, enableOfflineQueue: false }
      : { maxRetriesPerRequest: 3 }),
  });
  // Errors of a connection being closed (a QUIT meeting a socket BullMQ already ended: EPIPE) are
  // the shutdown itself, not news for an operator.
  let closing = false;
  redis.on('error', (error) => {
    if (!closing) logger.warn(errorLogFields(error).fields, 'redis connection error');
  });
  // BullMQ wants unlimited retries; on the request path enqueue errors are handled by the caller.
  const connection = new Redis(config.redis.url, {
    maxRetriesPerRequest: null,
    ...(options.failFast ? { enableOfflineQueue: false } : {}),
  });
  connection.on('error', (error) => {
    if (!closing) logger.warn(errorLogFields(error).fields, 'redis queue connection error');
  });

  const prefix = config.redis.queuePrefix;
  const tracker =
    options.mirrorSlotsVia === undefined
      ? undefined
      : new Redis(config.redis.url, { maxRetriesPerRequest: null });
  tracker?.on('error', (error) =>
    logger.warn(errorLogFields(error).fields, 'redis tracking connection error'),
  );
  const mirror =
    options.mirrorSlotsVia === undefined || tracker === undefined
      ? undefined
      : new SlotMirror({
          subscriber: options.mirrorSlotsVia,
          tracker,
          keyPrefix: SlotCache.keyPrefix(prefix),
          onError: (error) =>
            logger.warn(
              errorLogFields(error).fields,
              'availability: the local copy of cached days is off (Redis client tracking failed); every answer reads Redis',
            ),
        });
  const keyring = keyringFrom(config.encryption);
  const metrics = createMetrics({ service: options.service });
  const budget = createBudget({ redis, prefix, limitPerMinute: config.calcom.rateLimitPerMinute });
  const queues = createJobQueues({
    connection,
    prefix,
    maxRetries: config.calcom.maxRetries,
    compensationAttempts: config.worker.compensationAttempts,
    outboundRetryScheduleMs: config.outbound.retryScheduleMs,
    onError: (error, source) =>
      logger.warn({ ...errorLogFields(error).fields, source }, 'queue connection error'),
    tracing: config.tracing,
  });
  return {
    config,
    logger,
    metrics,
    db,
    sql,
    redis,
    redisPrefix: prefix,
    keyring,
    phoneRegion: config.phone.defaultRegion,
    connection,
    queues,
    budget,
    calcom: createCalcomAccess({
      baseUrl: config.calcom.baseUrl,
      defaultApiKey: config.calcom.apiKey,
      bookingsApiVersion: config.calcom.bookingsApiVersion,
      timeoutMs: config.calcom.timeoutMs,
      debug: config.calcom.debug,
      keyring,
      budget,
      logger: calcomLogger(logger, config.calcom.debug),
      onResponse: observeCalcom(metrics),
    }),
    slotCache: new SlotCache({
      redis,
      prefix,
      ttlSeconds: config.availability.cacheTtlSeconds,
      ...(mirror === undefined ? {} : { mirror }),
    }),
    outcomes: createOutcomeNotifier(redis, prefix),
    counters: createCounters(redis, prefix, observeCounters(metrics)),
    async close() {
      closing = true;
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
      await connection.quit().catch(() => connection.disconnect());
      await tracker?.quit().catch(() => tracker.disconnect());
      await closeDb();
    },
  };
}
