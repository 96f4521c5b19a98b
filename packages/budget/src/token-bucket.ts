import type { Redis } from 'ioredis';

/**
 * A token bucket per key in Redis, shared by every process: `burst` tokens at most, refilled at
 * `perMinute` a minute. Time is Redis's own (TIME), so processes with different clocks agree.
 * KEYS[1] = the bucket; ARGV = perMinute, burst, wanted (tokens to take at most, at least 1 for a
 * grant). Returns {tokens granted (0 = refused), tokens left (floor), ms until the next token (0 when
 * granted), ms until the bucket is full again}.
 */
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1]) / 60000
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
end
local wanted = tonumber(ARGV[3] or '1')
local allowed = 0
local wait = 0
if tokens >= 1 then
  allowed = math.min(wanted, math.floor(tokens))
  tokens = tokens - allowed
else
  wait = math.ceil((1 - tokens) / rate)
end
local full = math.ceil((burst - tokens) / rate)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], full + 1000)
return {allowed, math.floor(tokens), wait, full}
`;

export interface BucketLimit {
  perMinute: number;
  burst: number;
}

export interface BucketDecision {
  allowed: boolean;
  /** Requests that may follow at once. */
  remaining: number;
  /** When refused: ms until one more request may go. */
  retryAfterMs: number;
  /** ms until the bucket is full again. */
  resetMs: number;
}

export interface TokenBuckets {
  take(key: string, limit: BucketLimit): Promise<BucketDecision>;
  /** Takes up to `wanted` tokens at once (at least one, or none when refused). */
  takeMany(key: string, limit: BucketLimit, wanted: number): Promise<BucketDecision & { granted: number }>;
}

type ScriptCall = (...args: Array<string | number>) => Promise<[number, number, number, number]>;

/** Token buckets under `prefix` in Redis (one hash per key, expiring once full). */
export function createTokenBuckets(redis: Redis, prefix: string): TokenBuckets {
  const commands = redis as unknown as Record<string, ScriptCall | undefined>;
  if (commands.calgateBucketTake === undefined) {
    redis.defineCommand('calgateBucketTake', { numberOfKeys: 1, lua: TAKE_SCRIPT });
  }
  const take = commands.calgateBucketTake as ScriptCall;
  const takeMany = async (key: string, limit: BucketLimit, wanted: number) => {
    const [granted, remaining, wait, full] = await take.call(
      redis,
      `${prefix}:bucket:${key}`,
      limit.perMinute,
      limit.burst,
      Math.max(1, Math.floor(wanted)),
    );
    return { allowed: granted > 0, granted, remaining, retryAfterMs: wait, resetMs: full };
  };
  return {
    async take(key, limit) {
      const { granted: _, ...decision } = await takeMany(key, limit, 1);
      return decision;
    },
    takeMany,
  };
}
