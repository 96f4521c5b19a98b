import type { Redis } from 'ioredis';

/** Events operators watch; counted in Redis so every process adds to the same numbers. */
export const COUNTERS = [
  'compensations_started',
  'compensations_exhausted',
  'bookings_adopted',
  'webhooks_accepted',
  'webhooks_duplicate',
  'webhooks_rejected',
  'webhooks_applied',
  'webhooks_unchanged',
  'webhooks_ignored',
  'webhooks_failed',
  /** Deliveries outside every company's scope (stored as ignored, never applied). */
  'webhooks_out_of_scope',
  /** Deliveries kept in Redis while PostgreSQL was away (stored by the sweeper once it is back). */
  'webhooks_spilled',
  'reconcile_applied',
  /** Bookings a reconciliation saw outside the company's scope (not applied). */
  'reconcile_out_of_scope',
] as const;
export type CounterName = (typeof COUNTERS)[number];

export interface Counters {
  increment(name: CounterName): Promise<void>;
  read(): Promise<Record<CounterName, number>>;
}

/**
 * Counters shared by every process through a Redis hash; `observe` also sees each increment
 * (the process's own Prometheus metrics).
 */
export function createCounters(
  redis: Redis,
  prefix: string,
  observe?: (name: CounterName) => void,
): Counters {
  const key = `${prefix}:counters`;
  return {
    async increment(name) {
      observe?.(name);
      await redis.hincrby(key, name, 1).catch(() => undefined);
    },
    async read() {
      const raw = await redis.hgetall(key);
      return Object.fromEntries(COUNTERS.map((name) => [name, Number(raw[name] ?? 0)])) as Record<
        CounterName,
        number
      >;
    },
  };
}
