import type { Redis } from 'ioredis';

/** Events operators watch; counted in Redis so every process adds to the same numbers. */
export const COUNTERS = ['compensations_started', 'compensations_exhausted', 'bookings_adopted'] as const;
export type CounterName = (typeof COUNTERS)[number];

export interface Counters {
  increment(name: CounterName): Promise<void>;
  read(): Promise<Record<CounterName, number>>;
}

export function createCounters(redis: Redis, prefix: string): Counters {
  const key = `${prefix}:counters`;
  return {
    async increment(name) {
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
