import type { BucketDecision, BucketLimit, TokenBuckets } from './token-bucket.ts';

/** How long tokens taken ahead stay usable in this process; unused ones lapse (never overspent). */
export const LEASE_MS = 1_000;

/**
 * Tokens a process takes from the shared bucket at once: a twentieth of the burst, at most 10 (so
 * a tight limit, a burst under 40, is still taken one token at a time and held exactly across
 * processes).
 */
export function leaseSize(limit: BucketLimit): number {
  return Math.max(1, Math.min(10, Math.floor(limit.burst / 20)));
}

interface Lease {
  tokens: number;
  until: number;
  remaining: number;
  resetMs: number;
}

/**
 * Token buckets that take a few tokens at a time from the shared ones (`leaseSize`) and hand them
 * out in this process for up to `LEASE_MS`: a busy company's requests mostly cost no Redis round
 * trip. The shared bucket still bounds every process together; what a lease costs is that up to
 * `leaseSize` tokens per process and company may lapse unused. Concurrent requests of one company
 * wait for one take instead of each taking its own.
 */
export function leasedBuckets(shared: TokenBuckets, now: () => number = Date.now): TokenBuckets {
  const leases = new Map<string, Lease>();
  const taking = new Map<string, Promise<BucketDecision>>();

  const fromLease = (key: string): BucketDecision | undefined => {
    const lease = leases.get(key);
    if (lease === undefined || lease.tokens <= 0 || lease.until <= now()) return undefined;
    lease.tokens--;
    return {
      allowed: true,
      remaining: lease.remaining + lease.tokens,
      retryAfterMs: 0,
      resetMs: lease.resetMs,
    };
  };

  async function take(key: string, limit: BucketLimit): Promise<BucketDecision> {
    for (;;) {
      const leased = fromLease(key);
      if (leased !== undefined) return leased;
      const pending = taking.get(key);
      if (pending === undefined) break;
      const decision = await pending;
      // Refused for everyone who waited on it: no token was taken.
      if (!decision.allowed) return decision;
    }
    const request = shared.takeMany(key, limit, leaseSize(limit)).then((decision) => {
      if (decision.granted > 1) {
        if (leases.size >= 10_000) leases.clear();
        leases.set(key, {
          tokens: decision.granted - 1,
          until: now() + LEASE_MS,
          remaining: decision.remaining,
          resetMs: decision.resetMs,
        });
      }
      return decision;
    });
    taking.set(key, request);
    try {
      const { granted, ...decision } = await request;
      // The first of the granted tokens is this request's own.
      return granted > 1 ? { ...decision, remaining: decision.remaining + granted - 1 } : decision;
    } finally {
      taking.delete(key);
    }
  }

  return {
    take,
    takeMany: (key, limit, wanted) => shared.takeMany(key, limit, wanted),
  };
}
