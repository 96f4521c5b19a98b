import { type BucketLimit, createTokenBuckets, leasedBuckets } from '@calgate/budget';
import { companies } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.ts';

/** A company's own limit is read again after this long (it changes rarely). */
const LIMIT_CACHE_MS = 10_000;

/**
 * Per-company request rate limit on the scope (after company auth): a token bucket in Redis that
 * every API process shares, so one company cannot starve the others of the gateway or of a shared
 * Cal.com key. Each process takes tokens a few at a time (`leasedBuckets`). Answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; a
 * refused request gets 429 RATE_LIMIT_EXCEEDED with `Retry-After`. A company's own rate is
 * `settings.apiRateLimitPerMinute`. If Redis does not answer, requests go through (the limiter
 * must not turn a Redis hiccup into an outage of reads).
 */
export function registerRateLimit(app: FastifyInstance, deps: ApiDeps): void {
  // Tokens are taken several at a time (as many as the company used in the last second, at most a
  // twentieth of the burst) and handed out here for up to a second: most requests of a busy
  // company cost no Redis round trip.
  const buckets = leasedBuckets(createTokenBuckets(deps.redis, `${deps.config.redis.queuePrefix}:api-rate`));
  const defaults: BucketLimit = {
    perMinute: deps.config.limits.ratePerMinute,
    burst: deps.config.limits.burst,
  };
  const known = new Map<string, { limit: BucketLimit; until: number }>();

  async function limitOf(companyId: string): Promise<BucketLimit> {
    const hit = known.get(companyId);
    if (hit !== undefined && hit.until > Date.now()) return hit.limit;
    const [row] = await deps.db
      .select({ settings: companies.settings })
      .from(companies)
      .where(eq(companies.id, companyId));
    const own = row?.settings.apiRateLimitPerMinute;
    const limit =
      typeof own === 'number' && Number.isInteger(own) && own > 0
        ? { perMinute: own, burst: Math.min(defaults.burst, own) }
        : defaults;
    if (known.size >= 10_000) known.clear();
    known.set(companyId, { limit, until: Date.now() + LIMIT_CACHE_MS });
    return limit;
  }

  app.addHook('onRequest', async (request, reply) => {
    const limit = await limitOf(request.company.id);
    const decision = await buckets.take(request.company.id, limit).catch((error: unknown) => {
      request.log.warn({ err: error }, 'rate limiter unavailable: request let through');
      return undefined;
    });
    if (decision === undefined) return;
    reply.header('ratelimit-limit', String(limit.perMinute));
    reply.header('ratelimit-remaining', String(decision.remaining));
    reply.header('ratelimit-reset', String(Math.ceil(decision.resetMs / 1000)));
    if (!decision.allowed) {
      throw new AppError(
        'RATE_LIMIT_EXCEEDED',
        `Too many requests: this company may make ${limit.perMinute} a minute (bursts of ${limit.burst})`,
        { retry: true, details: { retryAfterMs: decision.retryAfterMs, limitPerMinute: limit.perMinute } },
      );
    }
  });
}
