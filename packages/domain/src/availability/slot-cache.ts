import { type CalendarProvider, storedEventTypeId } from '@calgate/calendar';
import { utcDay, utcDaysBetween } from '@calgate/time';
import type { ChainableCommander, Redis } from 'ioredis';
import type { SlotMirror } from './slot-mirror.ts';

/** The part of the calendar provider the cache needs. */
export type SlotsClient = Pick<CalendarProvider, 'getSlots'>;

export interface SlotCacheOptions {
  redis: Redis;
  prefix: string;
  ttlSeconds: number;
  /** Counts hits and misses per day looked up (for metrics and the benchmarks). */
  onLookup?: (event: { hits: number; misses: number }) => void;
  /** A process-local copy kept true by Redis' invalidations (the API's); reads go to Redis without. */
  mirror?: SlotMirror;
}

/**
 * Writes a day's slots only if that day was not invalidated since the fetch started, so a slow
 * Cal.com answer can never put back slots that a booking just took. The generation is kept per
 * (event type, day): a booking on another day does not discard a fresh fetch of this one.
 * KEYS[1] = the day's slots, KEYS[2] = the day's generation; ARGV[1] = expected generation,
 * ARGV[2] = JSON, ARGV[3] = ttl seconds.
 */
const SET_IF_GENERATION = `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
`;

/**
 * How long a day's generation outlives its last invalidation. It only has to outlast the slowest
 * fetch that started before the invalidation (client timeouts are seconds); an hour is ample.
 */
const GENERATION_TTL_SECONDS = 3600;

/**
 * Free Cal.com slot starts per event type and UTC day, cached in Redis. Concurrent identical
 * misses in one process share one Cal.com call.
 */
export class SlotCache {
  readonly #options: SlotCacheOptions;
  readonly #inFlight = new Map<string, Promise<Map<string, string[]>>>();
  readonly #parsedDays = new Map<string, { raw: string; starts: number[] }>();
  readonly #windows = new Map<string, { parts: number[][]; starts: number[] }>();
  readonly #keys = new Map<string, { days: string[]; keys: string[] }>();

  constructor(options: SlotCacheOptions) {
    this.#options = options;
  }

  /** What every day key of the cache starts with. */
  static keyPrefix(prefix: string): string {
    return `${prefix}:slots:`;
  }

  #dayKey(eventTypeId: number, day: string): string {
    return `${SlotCache.keyPrefix(this.#options.prefix)}${eventTypeId}:${day}`;
  }

  #generationKey(eventTypeId: number, day: string): string {
    return `${this.#options.prefix}:slots-gen:${eventTypeId}:${day}`;
  }

  /** Free slot starts (UTC ms) of the event type within [start, end). */
  async slotStarts(
    client: SlotsClient,
    eventTypeId: number,
    start: Date,
    end: Date,
    signal?: AbortSignal,
  ): Promise<number[]> {
    return (await this.slotStartsMany(client, [eventTypeId], start, end, signal)).get(eventTypeId) ?? [];
  }

  /**
   * Free slot starts (UTC ms) within [start, end) of several event types: one Redis round trip for
   * all cached days, one Cal.com call per event type and run of missing days.
   */
  async slotStartsMany(
    client: SlotsClient,
    eventTypeIds: readonly number[],
    start: Date,
    end: Date,
    signal?: AbortSignal,
  ): Promise<Map<number, number[]>> {
    const from = start.getTime();
    const to = end.getTime();
    const { days, keys } = this.#lookupKeys(eventTypeIds, from, to);
    const cached = await this.#read(keys);
    let hits = 0;
    let misses = 0;
    const result = new Map<number, number[]>();
    const fetches: Promise<void>[] = [];
    eventTypeIds.forEach((eventTypeId, e) => {
      const byDay = new Map<string, number[]>();
      const missing: string[] = [];
      days.forEach((day, d) => {
        const i = e * days.length + d;
        const raw = cached[i];
        if (raw === null || raw === undefined) missing.push(day);
        else byDay.set(day, this.#parsed(keys[i] as string, raw));
      });
      hits += days.length - missing.length;
      misses += missing.length;
      if (missing.length === 0) {
        result.set(eventTypeId, this.#windowStarts(eventTypeId, from, to, days, byDay));
        return;
      }
      fetches.push(
        (async () => {
          for (const run of contiguousRuns(missing)) {
            const fetched = await this.#fetchRun(client, eventTypeId, run, signal);
            for (const day of run)
              byDay.set(
                day,
                (fetched.get(day) ?? []).map((iso) => Date.parse(iso)),
              );
          }
          result.set(eventTypeId, this.#windowStarts(eventTypeId, from, to, days, byDay));
        })(),
      );
    });
    if (fetches.length > 0) await Promise.all(fetches);
    this.#options.onLookup?.({ hits, misses });
    return result;
  }

  /** The cached text of each key (null where none): from the mirror where it holds it, else Redis. */
  async #read(keys: string[]): Promise<Array<string | null>> {
    const { mirror, redis } = this.#options;
    if (keys.length === 0) return [];
    if (mirror === undefined || !mirror.enabled) return redis.mget(keys);
    const now = Date.now();
    const values: Array<string | null> = keys.map((key) => mirror.get(key, now) ?? null);
    const missing = keys.filter((_, i) => values[i] === null);
    if (missing.length === 0) return values;
    const epoch = mirror.epoch;
    const fetched = await redis.mget(missing);
    let m = 0;
    keys.forEach((key, i) => {
      if (values[i] !== null) return;
      const raw = fetched[m++] ?? null;
      values[i] = raw;
      if (raw !== null) mirror.remember(key, raw, epoch, now);
    });
    return values;
  }

  /** The UTC days of a window and their keys per event type, reused for the same question. */
  #lookupKeys(eventTypeIds: readonly number[], from: number, to: number): { days: string[]; keys: string[] } {
    const memoKey = `${eventTypeIds.join(',')}|${from}|${to}`;
    let known = this.#keys.get(memoKey);
    if (known === undefined) {
      const days = utcDaysBetween(new Date(from), new Date(to));
      known = { days, keys: eventTypeIds.flatMap((id) => days.map((day) => this.#dayKey(id, day))) };
      if (this.#keys.size > 10_000) this.#keys.clear();
      this.#keys.set(memoKey, known);
    }
    return known;
  }

  /**
   * The window's starts, the same array (same identity) as last time while every day is the same
   * parsed day: callers can reuse what they built from it (see `getAvailability`).
   */
  #windowStarts(
    eventTypeId: number,
    from: number,
    to: number,
    days: string[],
    byDay: Map<string, number[]>,
  ): number[] {
    const parts = days.map((day) => byDay.get(day) ?? []);
    const key = `${eventTypeId}:${from}:${to}`;
    const known = this.#windows.get(key);
    if (known?.parts.every((part, i) => part === parts[i])) return known.starts;
    const starts: number[] = [];
    for (const part of parts) for (const ms of part) if (ms >= from && ms < to) starts.push(ms);
    starts.sort((a, b) => a - b);
    if (this.#windows.size > 10_000) this.#windows.clear();
    this.#windows.set(key, { parts, starts });
    return starts;
  }

  /** The parsed form of a cached day, reused while Redis holds the same text for it. */
  #parsed(key: string, raw: string): number[] {
    const known = this.#parsedDays.get(key);
    if (known !== undefined && known.raw === raw) return known.starts;
    const starts = (JSON.parse(raw) as string[]).map((iso) => Date.parse(iso));
    if (this.#parsedDays.size > 10_000) this.#parsedDays.clear();
    this.#parsedDays.set(key, { raw, starts });
    return starts;
  }

  #fetchRun(
    client: SlotsClient,
    eventTypeId: number,
    run: string[],
    signal?: AbortSignal,
  ): Promise<Map<string, string[]>> {
    const flightKey = `${eventTypeId}|${run[0]}|${run.at(-1)}`;
    const existing = this.#inFlight.get(flightKey);
    if (existing !== undefined) return existing;
    const promise = this.#fetchAndStore(client, eventTypeId, run, signal).finally(() =>
      this.#inFlight.delete(flightKey),
    );
    this.#inFlight.set(flightKey, promise);
    return promise;
  }

  async #fetchAndStore(
    client: SlotsClient,
    eventTypeId: number,
    run: string[],
    signal?: AbortSignal,
  ): Promise<Map<string, string[]>> {
    const { redis, ttlSeconds } = this.#options;
    const generations = await redis.mget(run.map((day) => this.#generationKey(eventTypeId, day)));
    const first = run[0] as string;
    const last = run.at(-1) as string;
    const lastExclusive = new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000);
    const slots = await client.getSlots(
      {
        eventTypeId: storedEventTypeId(eventTypeId),
        start: `${first}T00:00:00.000Z`,
        end: lastExclusive.toISOString(),
        timeZone: 'UTC',
      },
      { signal },
    );
    const byDay = new Map<string, string[]>(run.map((day) => [day, []]));
    for (const list of Object.values(slots)) {
      for (const slot of list) {
        const instant = new Date(slot.start);
        if (Number.isNaN(instant.getTime())) continue;
        byDay.get(utcDay(instant))?.push(instant.toISOString());
      }
    }
    const pipeline = redis.pipeline();
    run.forEach((day, i) => {
      pipeline.eval(
        SET_IF_GENERATION,
        2,
        this.#dayKey(eventTypeId, day),
        this.#generationKey(eventTypeId, day),
        generations[i] ?? '0',
        JSON.stringify(byDay.get(day) ?? []),
        ttlSeconds,
      );
    });
    await pipeline.exec();
    return byDay;
  }

  /** Forgets the cached days of these event types (after a booking change touching them). */
  async invalidate(eventTypeIds: Iterable<number>, days: Iterable<string>): Promise<void> {
    const pipeline = this.#options.redis.pipeline();
    this.invalidateIn(pipeline, eventTypeIds, days);
    await pipeline.exec();
  }

  /** Queues the commands of `invalidate` on a pipeline the caller sends (with its own commands). */
  invalidateIn(pipeline: ChainableCommander, eventTypeIds: Iterable<number>, days: Iterable<string>): void {
    const dayList = [...new Set(days)];
    for (const eventTypeId of new Set(eventTypeIds)) {
      for (const day of dayList) {
        const generation = this.#generationKey(eventTypeId, day);
        pipeline.incr(generation);
        pipeline.expire(generation, GENERATION_TTL_SECONDS);
        pipeline.del(this.#dayKey(eventTypeId, day));
      }
    }
  }
}

function contiguousRuns(days: string[]): string[][] {
  const runs: string[][] = [];
  for (const day of days) {
    const current = runs.at(-1);
    const previous = current?.at(-1);
    if (
      current !== undefined &&
      previous !== undefined &&
      Date.parse(day) - Date.parse(previous) === 86_400_000
    ) {
      current.push(day);
    } else {
      runs.push([day]);
    }
  }
  return runs;
}
