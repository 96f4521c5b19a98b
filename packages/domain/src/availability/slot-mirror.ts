import type { Redis } from 'ioredis';

/** Redis' channel for client-side caching invalidations (RESP2: sent to the REDIRECT client). */
const INVALIDATE_CHANNEL = '__redis__:invalidate';

/** Longest a mirrored day is used without asking Redis again, even with no invalidation heard. */
const DEFAULT_MAX_AGE_MS = 2_000;

export interface SlotMirrorOptions {
  /**
   * The process's subscriber connection, named (`connectionName`) so that its client id can be
   * found again after a reconnect. Sharing it with the outcome notices keeps their order: a
   * booking's invalidation is heard before its "confirmed" notice.
   */
  subscriber: Redis;
  /** A connection of the mirror's own that only switches tracking on (it reads nothing). */
  tracker: Redis;
  /** Keys starting with this are mirrored (the slot cache's day keys). */
  keyPrefix: string;
  maxAgeMs?: number;
  /** Tracking could not be switched on (e.g. a Redis without CLIENT TRACKING): reads go to Redis. */
  onError?: (error: unknown) => void;
}

/**
 * A process-local copy of the slot cache's days, kept true by Redis itself (server-assisted
 * client-side caching, broadcast mode): Redis tells the subscriber about every write, deletion or
 * expiry of a key under the prefix, by anyone, and the copy forgets it. A warm availability answer
 * then costs no Redis round trip.
 *
 * Used only while both connections are up and tracking is on: when either drops, the copy is
 * emptied and every read goes to Redis until tracking is on again. A value read from Redis is kept
 * only if no invalidation arrived while it was being read (the invalidation and the reply travel
 * on different connections).
 */
export class SlotMirror {
  readonly #options: SlotMirrorOptions;
  readonly #maxAgeMs: number;
  readonly #entries = new Map<string, { raw: string; at: number }>();
  #enabled = false;
  #epoch = 0;
  #enabling: Promise<void> | undefined;

  constructor(options: SlotMirrorOptions) {
    this.#options = options;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    const { subscriber, tracker } = options;
    subscriber.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() === INVALIDATE_CHANNEL) this.#invalidate(message);
    });
    for (const connection of [subscriber, tracker]) {
      connection.on('close', () => this.#disable());
      connection.on('ready', () => void this.enable());
    }
    void this.enable();
  }

  /** Whether reads may be answered from the copy. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Changes with every invalidation and state change; see `remember`. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The mirrored text of a key, if tracking is on and the copy is young enough. */
  get(key: string, now: number): string | undefined {
    if (!this.#enabled) return undefined;
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    if (now - hit.at >= this.#maxAgeMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return hit.raw;
  }

  /**
   * Keeps a value read from Redis, unless anything was invalidated (or tracking changed) since
   * `epoch` was read, before the read was sent.
   */
  remember(key: string, raw: string, epoch: number, now: number): void {
    if (!this.#enabled || epoch !== this.#epoch) return;
    if (this.#entries.size >= 10_000) this.#entries.clear();
    this.#entries.set(key, { raw, at: now });
  }

  /**
   * Switches tracking on (again): subscribe, find the subscriber's client id by its name, point
   * the tracker's invalidations at it. Runs on every reconnect of either connection; settles when
   * done or failed (the copy then stays off).
   */
  enable(): Promise<void> {
    this.#enabling ??= this.#switchOn().finally(() => {
      this.#enabling = undefined;
    });
    return this.#enabling;
  }

  async #switchOn(): Promise<void> {
    const { subscriber, tracker, keyPrefix } = this.#options;
    const name = subscriber.options.connectionName;
    if (name === undefined || subscriber.status !== 'ready' || tracker.status !== 'ready') return;
    try {
      await subscriber.subscribe(INVALIDATE_CHANNEL);
      const clients = String(await tracker.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const line = clients.split('\n').find((l) => l.includes(` name=${name} `));
      const id = line === undefined ? undefined : /(?:^|\s)id=(\d+)/.exec(line)?.[1];
      if (id === undefined) return;
      await tracker.call('CLIENT', 'TRACKING', 'OFF');
      await tracker.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', id, 'BCAST', 'PREFIX', keyPrefix);
      if (subscriber.status !== 'ready' || tracker.status !== 'ready') return;
      this.#entries.clear();
      this.#epoch++;
      this.#enabled = true;
    } catch (error) {
      this.#disable();
      this.#options.onError?.(error);
    }
  }

  #disable(): void {
    this.#enabled = false;
    this.#epoch++;
    this.#entries.clear();
  }

  #invalidate(message: unknown): void {
    this.#epoch++;
    // A flush of the database arrives as null: everything goes.
    if (!Array.isArray(message)) {
      this.#entries.clear();
      return;
    }
    for (const key of message) this.#entries.delete(String(key));
  }
}
