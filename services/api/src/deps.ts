import { randomUUID } from 'node:crypto';
import type { Config } from '@calgate/config';
import {
  createOutcomeWaiter,
  forgetWebhookSecrets,
  listenForAuthChanges,
  type OutcomeWaiter,
} from '@calgate/domain';
import { createDomainRuntime, type DomainRuntime } from '@calgate/runtime';
import type { Logger } from '@calgate/telemetry';
import { Redis } from 'ioredis';
import { createTokenLookup, type TokenLookup } from './plugins/auth.ts';
import { createOperatorLogins, type OperatorLogins } from './plugins/operator-logins.ts';

/** Everything the API's routes need, built once in `main.ts` (or by a test) and passed down. */
export interface ApiDeps extends DomainRuntime {
  waiter: OutcomeWaiter;
  /** Company token lookups, forgotten on every process when a token is revoked or a company disabled. */
  tokens: TokenLookup;
  /** Failed operator logins per address (admin API, dashboard, metrics). */
  operatorLogins: OperatorLogins;
  /** Settles once this process hears token changes (tests wait for it before measuring). */
  hearingTokenChanges: Promise<void>;
}

/** Connects to Postgres and Redis and builds the domain's collaborators. `close` releases all. */
export function createApiDeps(config: Config, logger: Logger): ApiDeps {
  // Waiting for outcomes (Prefer: wait) needs a subscriber connection of its own. It also hears
  // the slot cache's invalidations (named, so tracking can point at it after a reconnect), in
  // order with the outcome notices.
  const subscriber = new Redis(config.redis.url, {
    maxRetriesPerRequest: null,
    connectionName: `calgate-api-${randomUUID()}`,
  });
  subscriber.on('error', (error) => logger.warn({ err: error }, 'redis subscriber connection error'));
  const runtime = createDomainRuntime(config, logger, {
    service: 'calgate-api',
    failFast: true,
    mirrorSlotsVia: subscriber,
  });
  const waiter = createOutcomeWaiter(subscriber, config.redis.queuePrefix);
  const tokens = createTokenLookup(runtime.db, { negativeCacheMs: config.limits.negativeCacheMs });
  const hearingTokenChanges = listenForAuthChanges(subscriber, config.redis.queuePrefix, (companyId) => {
    tokens.forget(companyId);
    forgetWebhookSecrets(companyId);
  });
  return {
    ...runtime,
    waiter,
    tokens,
    operatorLogins: createOperatorLogins(logger),
    hearingTokenChanges,
    async close() {
      await waiter.close();
      await runtime.close();
    },
  };
}
