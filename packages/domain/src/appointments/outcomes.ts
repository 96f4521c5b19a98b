import type { Redis } from 'ioredis';

/**
 * Tells API processes that an appointment changed, so a request waiting with `Prefer: wait`
 * can answer as soon as the worker has written the outcome. The message carries only the id;
 * the waiter reads the committed state from Postgres.
 */
export interface OutcomeNotifier {
  publish(appointmentId: string): Promise<void>;
}

export function createOutcomeNotifier(redis: Redis, prefix: string): OutcomeNotifier {
  const channel = `${prefix}:appointment-changed`;
  return {
    async publish(appointmentId) {
      await redis.publish(channel, appointmentId);
    },
  };
}

export interface OutcomeWaiter {
  /**
   * Resolves when `isSettled()` is true — checked now, and again on each change notification for
   * this appointment — or when `timeoutMs` passes (then resolves false).
   */
  waitFor(appointmentId: string, isSettled: () => Promise<boolean>, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** One subscriber connection per API process, fanned out to the requests waiting on it. */
export function createOutcomeWaiter(subscriber: Redis, prefix: string): OutcomeWaiter {
  const channel = `${prefix}:appointment-changed`;
  const waiters = new Map<string, Set<() => void>>();
  let subscribed: Promise<unknown> | undefined;

  subscriber.on('message', (received: string, appointmentId: string) => {
    if (received !== channel) return;
    for (const wake of waiters.get(appointmentId) ?? []) wake();
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
        const set = waiters.get(appointmentId) ?? new Set<() => void>();
        waiters.set(appointmentId, set);
        const finish = (settled: boolean) => {
          clearTimeout(timer);
          set.delete(wake);
          if (set.size === 0) waiters.delete(appointmentId);
          resolve(settled);
        };
        const wake = () => {
          if (checking) {
            pending = true;
            return;
          }
          checking = true;
          isSettled()
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
