import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@calgate/errors';
import type { Redis } from 'ioredis';
import { ACQUIRE_SCRIPT, PAUSE_SCRIPT } from './scripts.ts';

/**
 * The window the per-minute limit is counted over: a minute plus a guard band. A call is counted
 * when its slot is taken, but Cal.com counts it when it arrives; a call delayed on its way (a busy
 * event loop, the network) could otherwise land in the same Cal.com minute as one sent a minute
 * after it. The guard costs about 3% of the throughput at the limit.
 */
export const WINDOW_MS = 62_000;

export interface BudgetOptions {
  redis: Redis;
  /** Key prefix in Redis (the deployment's queue prefix). */
  prefix: string;
  /** Requests per minute per Cal.com key. */
  limitPerMinute: number;
  /**
   * The longest a caller waits in process for a slot; longer waits throw RATE_LIMIT_EXCEEDED with
   * `details.retryAfterMs` so a job can be delayed instead of holding a worker slot.
   * @defaultValue 2000
   */
  maxInlineWaitMs?: number;
  /** Called when a caller had to wait or was turned away (for metrics). */
  onWait?: (event: { keyId: string; waitMs: number; inline: boolean }) => void;
}

/** A per-Cal.com-key request budget shared by every process through Redis. */
export interface Budget {
  /**
   * Takes one request slot for the key, waiting in process up to `maxInlineWaitMs`.
   * @throws AppError RATE_LIMIT_EXCEEDED (retry: true, details.retryAfterMs) when the wait would be longer.
   */
  acquire(keyId: string, signal?: AbortSignal): Promise<void>;
  /** Stops all use of the key for `ms` (after Cal.com answered 429). */
  pause(keyId: string, ms: number): Promise<number>;
  /** Milliseconds until the key may be used again because of a pause (0 when not paused). */
  pausedFor(keyId: string): Promise<number>;
}

export function createBudget(options: BudgetOptions): Budget {
  const { redis, prefix, limitPerMinute } = options;
  const maxInlineWaitMs = options.maxInlineWaitMs ?? 2_000;
  const scripts = budgetScripts(redis);
  const logKey = (keyId: string) => `${prefix}:budget:{${keyId}}:log`;
  const pauseKey = (keyId: string) => `${prefix}:budget:{${keyId}}:paused`;

  async function tryAcquire(keyId: string): Promise<number> {
    const result = await scripts.calgateBudgetAcquire(
      logKey(keyId),
      pauseKey(keyId),
      limitPerMinute,
      WINDOW_MS,
      randomUUID(),
    );
    return Number(result);
  }

  return {
    async acquire(keyId, signal) {
      let waited = 0;
      for (;;) {
        signal?.throwIfAborted();
        const waitMs = await tryAcquire(keyId);
        if (waitMs === 0) {
          if (waited > 0) options.onWait?.({ keyId, waitMs: waited, inline: true });
          return;
        }
        if (waited + waitMs > maxInlineWaitMs) {
          options.onWait?.({ keyId, waitMs, inline: false });
          throw new AppError(
            'RATE_LIMIT_EXCEEDED',
            'The Cal.com request budget for this key is used up for now',
            {
              retry: true,
              details: { retryAfterMs: waitMs },
            },
          );
        }
        await sleep(waitMs, undefined, { signal });
        waited += waitMs;
      }
    },
    async pause(keyId, ms) {
      return Number(await scripts.calgateBudgetPause(pauseKey(keyId), Math.max(1, Math.round(ms))));
    },
    async pausedFor(keyId) {
      // Measured on Redis's clock, like the pause itself (this process's clock may differ): the
      // marker lives 1 s past the pause's end.
      const ttl = await redis.pttl(pauseKey(keyId));
      return Math.max(0, ttl - 1000);
    },
  };
}

type ScriptCall = (...args: Array<string | number>) => Promise<unknown>;

/**
 * The budget's Lua scripts as ioredis commands: sent by SHA (EVALSHA), with ioredis loading the
 * script itself when Redis does not know it yet, instead of the whole script with every call.
 */
function budgetScripts(redis: Redis): Record<'calgateBudgetAcquire' | 'calgateBudgetPause', ScriptCall> {
  const commands = redis as unknown as Record<string, ScriptCall | undefined>;
  if (commands.calgateBudgetAcquire === undefined) {
    redis.defineCommand('calgateBudgetAcquire', { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
    redis.defineCommand('calgateBudgetPause', { numberOfKeys: 1, lua: PAUSE_SCRIPT });
  }
  return {
    calgateBudgetAcquire: (...args) => (commands.calgateBudgetAcquire as ScriptCall).apply(redis, args),
    calgateBudgetPause: (...args) => (commands.calgateBudgetPause as ScriptCall).apply(redis, args),
  };
}
