import type { BucketDecision, BucketLimit, TokenBuckets } from './token-bucket.ts';

/** How long tokens taken ahead stay usable in this process; unused ones lapse (never overspent). */
export const LEASE_MS = 1_000;

/** Tokens a process takes at once when it has no measure of a company's demand yet. */
const FIRST_LEASE = 10;

/**
 * The most tokens a process takes from the shared bucket at once: a twentieth of the burst (so a
 * tight limit, a burst under 40, is taken one token at a time and held exactly across processes).
 */
export function leaseSize(limit: BucketLimit): number {
  return Math.max(1, Math.floor(limit.burst / 20));
}

/**
 * How many tokens to take next, from how the last lease went: one used up before it lapsed asks for
 * twice as many (as many again if the bucket held fewer than asked); one that lapsed asks for what
 * it used. A steady demand of r requests a second settles near r tokens per take (about one round
 * trip a second), and little lapses unused.
 */
export function nextLeaseSize(limit: BucketLimit, last: Lease | undefined, now: number): number {
  const most = leaseSize(limit);
  if (last === undefined) return Math.min(most, FIRST_LEASE);
  const usedUp = last.tokens <= 0 && last.until > now;
  if (usedUp) return Math.min(most, last.granted < last.size ? last.size : last.size * 2);
  return Math.max(1, Math.min(most, last.granted - last.tokens));
}

export interface Lease {
  /** Tokens asked for, and granted (the bucket may have held fewer). */
  size: number;
  granted: number;
  /** Granted tokens not yet handed out. */
  tokens: number;
  until: number;
  remaining: number;
  resetMs: number;
}

/**
 * Token buckets that take several tokens at a time from the shared ones and hand them out in this
 * process for up to `LEASE_MS`: a busy company's requests mostly cost no Redis round trip. How many
 * a take asks for follows the company's demand in this process (`nextLeaseSize`), at most a
 * twentieth of the burst. The shared bucket still bounds every process together; what a lease costs
 * is that tokens taken ahead and not used within the second lapse. Concurrent requests of one
 * company wait for one take instead of each taking its own.
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
    const size = nextLeaseSize(limit, leases.get(key), now());
    const request = shared.takeMany(key, limit, size).then((decision) => {
      if (leases.size >= 10_000 && !leases.has(key)) leases.clear();
      // The first of the granted tokens is this request's own.
      leases.set(key, {
        size,
        granted: decision.granted,
        tokens: Math.max(0, decision.granted - 1),
        until: now() + LEASE_MS,
        remaining: decision.remaining,
        resetMs: decision.resetMs,
      });
      return decision;
    });
    taking.set(key, request);
    try {
      const { granted, ...decision } = await request;
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
