/**
 * The process-local caches (service definitions, decrypted secrets, parsed windows, time-zone
 * offsets, ...): one small type with one eviction rule, each registered by name so that its size can be
 * observed and every cache reset (tests, and an operator who changed something under us).
 *
 * The rule: an entry lives `ttlMs` (forever without one); a cache that reaches `maxEntries` is
 * emptied before the next entry goes in. Emptying beats LRU bookkeeping here: every entry is cheap
 * to rebuild, and the bound only guards against a key space that grows without end.
 */
export interface LocalCacheOptions {
  /** Unique name, for `cacheSizes()`. */
  name: string;
  /** @defaultValue 1000 */
  maxEntries?: number;
  /** How long an entry may be reused. @defaultValue forever (pure functions of the key) */
  ttlMs?: number;
}

export class LocalCache<K, V> {
  readonly name: string;
  readonly #maxEntries: number;
  readonly #ttlMs: number | undefined;
  readonly #entries = new Map<K, { value: V; at: number }>();

  constructor(options: LocalCacheOptions) {
    this.name = options.name;
    this.#maxEntries = options.maxEntries ?? 1_000;
    this.#ttlMs = options.ttlMs;
    registry.set(options.name, this as LocalCache<unknown, unknown>);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry's value, unless it is absent or older than the cache's TTL. */
  get(key: K, now?: number): V | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    // The clock is read only by caches with a TTL: the time-zone caches sit on hot paths.
    if (this.#ttlMs !== undefined && (now ?? Date.now()) - hit.at >= this.#ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: K, value: V, now?: number): V {
    if (!this.#entries.has(key) && this.#entries.size >= this.#maxEntries) this.#entries.clear();
    this.#entries.set(key, { value, at: this.#ttlMs === undefined ? 0 : (now ?? Date.now()) });
    return value;
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /**
   * The cached value, or `load()`'s, kept under the same rule; a promise that rejects is dropped
   * so that the next caller tries again.
   */
  getOrSet(key: K, load: () => V, now?: number): V {
    const hit = this.get(key, now);
    if (hit !== undefined) return hit;
    const value = this.set(key, load(), now);
    if (value instanceof Promise) {
      value.catch(() => {
        if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
      });
    }
    return value;
  }
}

const registry = new Map<string, LocalCache<unknown, unknown>>();

/** Entries held per cache, by name. */
export function cacheSizes(): Record<string, number> {
  return Object.fromEntries([...registry].map(([name, cache]) => [name, cache.size]));
}

/** Empties every local cache of the process (tests; nothing is lost but the time to rebuild). */
export function resetCaches(): void {
  for (const cache of registry.values()) cache.clear();
}
