import { companies, eventTypeMappings, services, syncState } from '@calgate/db';
import { isAppError } from '@calgate/errors';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';
import { mappingInScope } from './scope.ts';

import { WEBHOOK_PATH } from './webhook-registration.ts';

export interface CalcomHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  api_reachable: boolean;
  api_key_valid: boolean;
  webhook_registered: boolean;
  last_sync: string | null;
  event_types_count: number;
  checked_at: string;
  error?: string;
}

interface Probe {
  api_reachable: boolean;
  api_key_valid: boolean;
  webhook_registered: boolean;
  checked_at: string;
  error?: string;
}

const inFlight = new Map<string, Promise<Probe>>();

/**
 * Cal.com's health as the original design's endpoint reports it. The Cal.com part is a probe of
 * two calls (`GET /v2/me`, `GET /v2/webhooks`) cached in Redis for `ttlSeconds` and shared by all
 * API processes, so the endpoint costs at most two calls per TTL of the key's budget.
 */
export async function calcomHealth(
  deps: Pick<DomainDeps, 'db' | 'redis' | 'redisPrefix' | 'calcom'>,
  settings: { publicBaseUrl: string; ttlSeconds: number },
): Promise<CalcomHealth> {
  const key = `${deps.redisPrefix}:health:calcom`;
  const probe = await cachedProbe(key, deps, settings);
  const [sync] = await deps.db
    .select({ last: sql<Date | null>`max(${syncState.lastSucceededAt})` })
    .from(syncState)
    .where(eq(syncState.kind, 'event_types'));
  const last = sync?.last == null ? null : new Date(sync.last).toISOString();
  const ok = probe.api_reachable && probe.api_key_valid;
  return {
    status: !ok ? 'unhealthy' : probe.webhook_registered && last !== null ? 'healthy' : 'degraded',
    api_reachable: probe.api_reachable,
    api_key_valid: probe.api_key_valid,
    webhook_registered: probe.webhook_registered,
    last_sync: last,
    event_types_count: await countMappedEventTypes(deps),
    checked_at: probe.checked_at,
    ...(probe.error === undefined ? {} : { error: probe.error }),
  };
}

async function cachedProbe(
  key: string,
  deps: Pick<DomainDeps, 'db' | 'redis' | 'calcom'>,
  settings: { publicBaseUrl: string; ttlSeconds: number },
): Promise<Probe> {
  const cached = await deps.redis.get(key).catch(() => null);
  if (cached !== null) return JSON.parse(cached) as Probe;
  let running = inFlight.get(key);
  if (running === undefined) {
    running = runProbe(deps, settings.publicBaseUrl)
      .then(async (probe) => {
        await deps.redis.set(key, JSON.stringify(probe), 'EX', settings.ttlSeconds).catch(() => undefined);
        return probe;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, running);
  }
  return running;
}

async function runProbe(deps: Pick<DomainDeps, 'db' | 'calcom'>, publicBaseUrl: string): Promise<Probe> {
  const checked_at = new Date().toISOString();
  // The env default key, or the first company's own key when there is no default.
  const [company] = await deps.db
    .select({ id: companies.id, calcomApiKeyEncrypted: companies.calcomApiKeyEncrypted })
    .from(companies)
    .orderBy(sql`${companies.calcomApiKeyEncrypted} is not null`, companies.createdAt)
    .limit(1);
  let client: ReturnType<DomainDeps['calcom']['forCompany']>['client'];
  try {
    client = deps.calcom.forCompany(company ?? { id: 'health', calcomApiKeyEncrypted: null }).client;
  } catch {
    return {
      api_reachable: false,
      api_key_valid: false,
      webhook_registered: false,
      checked_at,
      error: 'no Cal.com API key configured',
    };
  }
  try {
    await client.getMe({ signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const code = isAppError(error) ? error.code : 'INTERNAL';
    const rejected = code === 'UNAUTHORIZED' || code === 'CALCOM_UNAUTHORIZED';
    const throttled = code === 'RATE_LIMIT_EXCEEDED';
    return {
      api_reachable: rejected || throttled,
      api_key_valid: !rejected && throttled,
      webhook_registered: false,
      checked_at,
      error: rejected
        ? 'Cal.com rejected the API key'
        : throttled
          ? 'rate limited'
          : `Cal.com unreachable (${code})`,
    };
  }
  const prefix = `${publicBaseUrl.replace(/\/+$/, '')}${WEBHOOK_PATH}`;
  const registered = await client
    .listWebhooks({ signal: AbortSignal.timeout(5_000) })
    .then((hooks) => hooks.some((h) => h.active && h.subscriberUrl.startsWith(prefix)))
    .catch(() => false);
  return { api_reachable: true, api_key_valid: true, webhook_registered: registered, checked_at };
}

/** Live mapped event types of a company (or all companies): the health endpoint's count. */
export async function countMappedEventTypes(deps: Pick<DomainDeps, 'db'>): Promise<number> {
  const [row] = await deps.db
    .select({ n: sql<number>`count(distinct ${eventTypeMappings.calcomEventTypeId})::int` })
    .from(eventTypeMappings)
    .innerJoin(services, eq(services.id, eventTypeMappings.serviceId))
    .where(and(isNull(eventTypeMappings.deletedAt), isNull(services.deletedAt), mappingInScope()));
  return row?.n ?? 0;
}
