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
  /**
   * Each key in use, probed on its own: the shared account's and each company's own, with the
   * companies on it. For operators only: the endpoint answers anyone, and company ids are theirs.
   */
  accounts: AccountHealth[];
}

interface Probe {
  api_reachable: boolean;
  api_key_valid: boolean;
  webhook_registered: boolean;
  checked_at: string;
  error?: string;
}

/** One key's probe: `shared` (CALCOM_API_KEY) or the companies whose own key it is. */
export type AccountHealth = Probe & { account: 'shared' | 'company'; company_ids: string[] };

type Deps = Pick<DomainDeps, 'db' | 'redis' | 'redisPrefix' | 'calcom'>;
type Client = ReturnType<DomainDeps['calcom']['forCompany']>['client'];

const inFlight = new Map<string, Promise<Probe>>();

/**
 * Cal.com's health as the original design's endpoint reports it, for every key in use: the shared
 * account's (CALCOM_API_KEY) and each enabled company's own, so a salon whose own key was revoked
 * shows. Each key's probe is two calls (`GET /v2/me`, `GET /v2/webhooks`) cached in Redis for
 * `ttlSeconds` and shared by all API processes: at most two calls per key per TTL. The top-level
 * fields hold for every key (one rejected key makes the whole `unhealthy`) and name no company;
 * `accounts` says which.
 */
export async function calcomHealth(
  deps: Deps,
  settings: { publicBaseUrl: string; ttlSeconds: number },
): Promise<CalcomHealth> {
  const accounts = await probeAccounts(deps, settings);
  const [sync] = await deps.db
    .select({ last: sql<Date | null>`max(${syncState.lastSucceededAt})` })
    .from(syncState)
    .where(eq(syncState.kind, 'event_types'));
  const last = sync?.last == null ? null : new Date(sync.last).toISOString();
  const every = (field: 'api_reachable' | 'api_key_valid' | 'webhook_registered') =>
    accounts.length > 0 && accounts.every((a) => a[field]);
  const failing = accounts.find((a) => a.error !== undefined);
  const api_reachable = every('api_reachable');
  const api_key_valid = every('api_key_valid');
  const webhook_registered = every('webhook_registered');
  const ok = api_reachable && api_key_valid;
  const error =
    accounts.length === 0
      ? 'no Cal.com API key configured'
      : failing === undefined
        ? undefined
        : `${failing.account === 'shared' ? 'the shared account' : "a company's own account"}: ${failing.error}`;
  return {
    status: !ok ? 'unhealthy' : webhook_registered && last !== null ? 'healthy' : 'degraded',
    api_reachable,
    api_key_valid,
    webhook_registered,
    last_sync: last,
    event_types_count: await countMappedEventTypes(deps),
    checked_at: accounts.map((a) => a.checked_at).sort()[0] ?? new Date().toISOString(),
    ...(error === undefined ? {} : { error }),
    accounts,
  };
}

/** The keys in use, each with the companies on it, and each key's (cached) probe. */
async function probeAccounts(
  deps: Deps,
  settings: { publicBaseUrl: string; ttlSeconds: number },
): Promise<AccountHealth[]> {
  type Target = { account: 'shared' | 'company'; ids: string[]; client?: Client; error?: string };
  const targets = new Map<string, Target>();
  let shared: Target | undefined;
  if (deps.calcom.defaultKeyId !== undefined) {
    const { client, keyId } = deps.calcom.forCompany({ id: 'health', calcomApiKeyEncrypted: null });
    shared = { account: 'shared', ids: [], client };
    targets.set(keyId, shared);
  }
  const enabled = await deps.db
    .select({ id: companies.id, calcomApiKeyEncrypted: companies.calcomApiKeyEncrypted })
    .from(companies)
    .where(isNull(companies.disabledAt))
    .orderBy(companies.createdAt, companies.id);
  for (const company of enabled) {
    if (company.calcomApiKeyEncrypted === null) {
      shared?.ids.push(company.id);
      continue;
    }
    try {
      const { client, keyId } = deps.calcom.forCompany(company);
      const target = targets.get(keyId);
      if (target === undefined) targets.set(keyId, { account: 'company', ids: [company.id], client });
      else target.ids.push(company.id);
    } catch {
      targets.set(`undecryptable:${company.id}`, {
        account: 'company',
        ids: [company.id],
        error: 'its stored Cal.com key cannot be decrypted with the configured SECRETS_ENCRYPTION_KEY',
      });
    }
  }
  return Promise.all(
    [...targets].map(async ([keyId, target]) => {
      const probe =
        target.client === undefined
          ? {
              api_reachable: false,
              api_key_valid: false,
              webhook_registered: false,
              checked_at: new Date().toISOString(),
              error: target.error ?? 'no key',
            }
          : await cachedProbe(`${deps.redisPrefix}:health:calcom:${keyId}`, deps, target.client, settings);
      return { account: target.account, company_ids: target.ids, ...probe };
    }),
  );
}

async function cachedProbe(
  key: string,
  deps: Pick<DomainDeps, 'redis'>,
  client: Client,
  settings: { publicBaseUrl: string; ttlSeconds: number },
): Promise<Probe> {
  const cached = await deps.redis.get(key).catch(() => null);
  if (cached !== null) return JSON.parse(cached) as Probe;
  let running = inFlight.get(key);
  if (running === undefined) {
    running = runProbe(client, settings.publicBaseUrl)
      .then(async (probe) => {
        await deps.redis.set(key, JSON.stringify(probe), 'EX', settings.ttlSeconds).catch(() => undefined);
        return probe;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, running);
  }
  return running;
}

async function runProbe(client: Client, publicBaseUrl: string): Promise<Probe> {
  const checked_at = new Date().toISOString();
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
