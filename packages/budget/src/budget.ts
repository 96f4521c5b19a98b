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
  /**
   * Slots one company may take at once on a shared key before it is paced.
   * @defaultValue 20
   */
  burst?: number;
  /** Called when a caller had to wait or was turned away (for metrics). */
  onWait?: (event: { keyId: string; waitMs: number; inline: boolean }) => void;
}

/**
 * Who asks for a slot: the company (its share of a key other companies use too) and the kind of
 * call. Interactive calls (availability, bookings) are served before background ones (sync,
 * reconciliation) when both wait for the key.
 */
export interface Claimant {
  companyId: string;
  kind: CallKind;
}
export type CallKind = 'interactive' | 'background';

/** The claimant of calls made on no company's behalf (a key check, a test). */
export const ANONYMOUS: Claimant = { companyId: '-', kind: 'interactive' };

/**
 * The part of a shared key's window kept free from any one company: a tenth of the limit (none
 * below 10 a minute).
 */
export function reserveFor(limitPerMinute: number): number {
  return Math.floor(limitPerMinute / 10);
}

/** A per-Cal.com-key request budget shared by every process through Redis. */
export interface Budget {
  /**
   * Takes one request slot for the key on behalf of `claimant`, waiting in process up to
   * `maxInlineWaitMs`. On a key several companies use, each gets a fair share (see the script); a
   * wait for the company's own share (its pace, its part of the window, another company's turn)
   * is waited in process only up to `maxShareWaitMs` when given (a job then gives its worker slot
   * to other companies' jobs instead of holding it).
   * @throws AppError RATE_LIMIT_EXCEEDED (retry: true, details.retryAfterMs) when the wait would be longer.
   */
  acquire(keyId: string, claimant?: Claimant, signal?: AbortSignal, maxShareWaitMs?: number): Promise<void>;
  /** Stops all use of the key for `ms` (after Cal.com answered 429). */
  pause(keyId: string, ms: number): Promise<number>;
  /** Milliseconds until the key may be used again because of a pause (0 when not paused). */
  pausedFor(keyId: string): Promise<number>;
}

export function createBudget(options: BudgetOptions): Budget {
  const { redis, prefix, limitPerMinute } = options;
  const maxInlineWaitMs = options.maxInlineWaitMs ?? 2_000;
  const burst = options.burst ?? 20;
  const reserve = reserveFor(limitPerMinute);
  const scripts = budgetScripts(redis);
  const logKey = (keyId: string) => `${prefix}:budget:{${keyId}}:log`;
  const pauseKey = (keyId: string) => `${prefix}:budget:{${keyId}}:paused`;
  const keyOf = (keyId: string, part: string) => `${prefix}:budget:{${keyId}}:${part}`;

  async function tryAcquire(keyId: string, claimant: Claimant): Promise<number> {
    const result = await scripts.calgateBudgetAcquire(
      logKey(keyId),
      pauseKey(keyId),
      keyOf(keyId, 'seen'),
      keyOf(keyId, 'waiting'),
      keyOf(keyId, 'pace'),
      keyOf(keyId, 'counts'),
      limitPerMinute,
      WINDOW_MS,
      `${claimant.companyId}|${randomUUID()}`,
      claimant.companyId,
      claimant.kind === 'background' ? 'b' : 'i',
      reserve,
      burst,
    );
    return Number(result);
  }

  return {
    async acquire(keyId, claimant = ANONYMOUS, signal, maxShareWaitMs = maxInlineWaitMs) {
      let waited = 0;
      for (;;) {
        signal?.throwIfAborted();
        const answer = await tryAcquire(keyId, claimant);
        const waitMs = Math.abs(answer);
        const inlineWaitMs = answer < 0 ? Math.min(maxShareWaitMs, maxInlineWaitMs) : maxInlineWaitMs;
        if (waitMs === 0) {
          if (waited > 0) options.onWait?.({ keyId, waitMs: waited, inline: true });
          return;
        }
        if (waited + waitMs > inlineWaitMs) {
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
    redis.defineCommand('calgateBudgetAcquire', { numberOfKeys: 6, lua: ACQUIRE_SCRIPT });
    redis.defineCommand('calgateBudgetPause', { numberOfKeys: 1, lua: PAUSE_SCRIPT });
  }
  return {
    calgateBudgetAcquire: (...args) => (commands.calgateBudgetAcquire as ScriptCall).apply(redis, args),
    calgateBudgetPause: (...args) => (commands.calgateBudgetPause as ScriptCall).apply(redis, args),
  };
}
