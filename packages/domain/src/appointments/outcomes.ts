import type { ChainableCommander, Redis } from 'ioredis';

/**
 * Tells API processes that an appointment changed, so a request waiting with `Prefer: wait`
 * can answer as soon as the worker has written the outcome. The message carries the id and, when
 * the publisher knows it, the status it committed (`id status`): a waiter then knows whether it
 * is settled without reading the row again. Published only after the change committed.
 */
export interface OutcomeNotifier {
  publish(appointmentId: string, status?: string): Promise<void>;
  /**
   * The same notice, in one round trip with the commands `first` queues, which Redis runs before it
   * (a cache invalidation: a caller woken by the notice never reads what it invalidates). A failed
   * command of `first` goes to `onError`; a failed notice throws.
   */
  publishAfter(
    first: (pipeline: ChainableCommander) => void,
    onError: (error: Error) => void,
    appointmentId: string,
    status?: string,
  ): Promise<void>;
}

export function createOutcomeNotifier(redis: Redis, prefix: string): OutcomeNotifier {
  const channel = `${prefix}:appointment-changed`;
  const message = (appointmentId: string, status?: string) =>
    status === undefined ? appointmentId : `${appointmentId} ${status}`;
  return {
    async publish(appointmentId, status) {
      await redis.publish(channel, message(appointmentId, status));
    },
    async publishAfter(first, onError, appointmentId, status) {
      const pipeline = redis.pipeline();
      first(pipeline);
      pipeline.publish(channel, message(appointmentId, status));
      const results = (await pipeline.exec()) ?? [];
      const notice = results.at(-1)?.[0];
      for (const [error] of results.slice(0, -1)) if (error !== null) onError(error);
      if (notice !== null && notice !== undefined) throw notice;
    },
  };
}

/**
 * Whether a waiter is settled: from the status a notice carried when it carried one, else from
 * what the waiter reads (`status` undefined).
 */
export type SettledCheck = (status?: string) => Promise<boolean> | boolean;

export interface OutcomeWaiter {
  /**
   * Resolves when `isSettled()` is true — checked now, and again on each change notification for
   * this appointment (given the status the notice carried, if any) — or when `timeoutMs` passes
   * (then resolves false).
   */
  waitFor(appointmentId: string, isSettled: SettledCheck, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** One subscriber connection per API process, fanned out to the requests waiting on it. */
export function createOutcomeWaiter(subscriber: Redis, prefix: string): OutcomeWaiter {
  const channel = `${prefix}:appointment-changed`;
  const waiters = new Map<string, Set<(status?: string) => void>>();
  let subscribed: Promise<unknown> | undefined;

  subscriber.on('message', (received: string, message: string) => {
    if (received !== channel) return;
    const space = message.indexOf(' ');
    const appointmentId = space === -1 ? message : message.slice(0, space);
    const status = space === -1 ? undefined : message.slice(space + 1);
    for (const wake of waiters.get(appointmentId) ?? []) wake(status);
  });

  return {
    async waitFor(appointmentId, isSettled, timeoutMs) {
      subscribed ??= subscriber.subscribe(channel);
      await subscribed;
      // Subscribe first, then look: a change between the two is seen by the check.
      if (await isSettled()) return true;
      return new Promise<boolean>((resolve) => {
        let checking = false;
        let pending = false;
        const set = waiters.get(appointmentId) ?? new Set<(status?: string) => void>();
        waiters.set(appointmentId, set);
        const finish = (settled: boolean) => {
          clearTimeout(timer);
          set.delete(wake);
          if (set.size === 0) waiters.delete(appointmentId);
          resolve(settled);
        };
        const wake = (status?: string) => {
          if (checking) {
            pending = true;
            return;
          }
          checking = true;
          Promise.resolve(isSettled(status))
            .then((settled) => {
              checking = false;
              if (settled) finish(true);
              else if (pending) {
                pending = false;
                wake();
              }
            })
            .catch(() => {
              checking = false;
            });
        };
        const timer = setTimeout(() => finish(false), timeoutMs);
        set.add(wake);
      });
    },
    async close() {
      for (const set of waiters.values()) for (const wake of set) wake();
      await subscriber.quit().catch(() => undefined);
    },
  };
}

/**
 * Reads `Prefer: wait=N` (RFC 7240). Returns the wait in ms, capped at `maxSeconds`, or 0.
 */
export function parsePreferWait(header: string | string[] | undefined, maxSeconds = 30): number {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined) return 0;
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(value);
  if (match === null) return 0;
  return Math.min(Number(match[1]), maxSeconds) * 1000;
}
