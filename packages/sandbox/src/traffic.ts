import type { FaultSpec, RequestLogEntry, SandboxOperation } from './types.ts';

/** Cal.com's limiter: a fixed 60 s window per key, then a block when a window overflows. */
export class RateLimiter {
  limit: number;
  blockMs: number;
  readonly #windows = new Map<string, { start: number; count: number; blockedUntil: number }>();

  constructor(limit: number, blockSeconds: number) {
    this.limit = limit;
    this.blockMs = blockSeconds * 1000;
  }

  /** Counts one request; returns what the headers say and whether it is over the limit. */
  hit(key: string, now: number): { allowed: boolean; remaining: number; resetSeconds: number } {
    let window = this.#windows.get(key);
    if (window !== undefined && window.blockedUntil > now) {
      return { allowed: false, remaining: 0, resetSeconds: Math.ceil((window.blockedUntil - now) / 1000) };
    }
    // A block that ended starts a fresh window.
    const blockEnded = window !== undefined && window.blockedUntil > 0;
    if (window === undefined || blockEnded || now - window.start >= 60_000) {
      window = { start: now, count: 0, blockedUntil: 0 };
      this.#windows.set(key, window);
    }
    window.count++;
    if (window.count > this.limit) {
      window.blockedUntil = now + this.blockMs;
      return { allowed: false, remaining: 0, resetSeconds: Math.ceil(this.blockMs / 1000) };
    }
    return {
      allowed: true,
      remaining: Math.max(0, this.limit - window.count),
      resetSeconds: Math.max(1, Math.ceil((window.start + 60_000 - now) / 1000)),
    };
  }

  reset(): void {
    this.#windows.clear();
  }
}

/** Injected faults, matched per call in order of injection. */
export class FaultBook {
  #faults: Array<FaultSpec & { remaining: number; toSkip: number }> = [];
  readonly #random: () => number;

  /** @param random draws the fate of a call under a fault with a probability (seeded, to replay a run) */
  constructor(random: () => number) {
    this.#random = random;
  }

  add(fault: FaultSpec): void {
    this.#faults.push({
      ...fault,
      remaining: fault.probability === undefined ? (fault.count ?? 1) : Number.POSITIVE_INFINITY,
      toSkip: fault.skip ?? 0,
    });
  }

  clear(): void {
    this.#faults = [];
  }

  /** The fault that hits this call, if any (consuming one of its count). */
  take(operation: SandboxOperation | 'unknown'): FaultSpec | undefined {
    for (const fault of this.#faults) {
      if (fault.operation !== '*' && fault.operation !== operation) continue;
      if (fault.remaining <= 0) continue;
      if (fault.toSkip > 0) {
        fault.toSkip--;
        continue;
      }
      if (fault.probability !== undefined && this.#random() >= fault.probability) continue;
      fault.remaining--;
      this.#faults = this.#faults.filter((f) => f.remaining > 0);
      return fault;
    }
    return undefined;
  }
}

/** The last requests the sandbox answered, for tests that count calls per minute. */
export class RequestLog {
  readonly #entries: RequestLogEntry[] = [];
  readonly #max: number;

  constructor(max = 50_000) {
    this.#max = max;
  }

  push(entry: RequestLogEntry): void {
    this.#entries.push(entry);
    if (this.#entries.length > this.#max) this.#entries.splice(0, this.#entries.length - this.#max);
  }

  since(at: number): RequestLogEntry[] {
    return this.#entries.filter((e) => e.at >= at);
  }

  clear(): void {
    this.#entries.length = 0;
  }
}
