import { randomInt } from 'node:crypto';

/**
 * mulberry32: a tiny, well-known seeded generator (32 bits of state) with floats in [0, 1). Good
 * enough to decide faults; never for anything secret.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A seed for a run that names none (printed by whoever needs to replay it). */
export function pickSeed(): number {
  return randomInt(0, 2 ** 32);
}

/**
 * The sandbox's randomness, from one seed: the same seed gives the same fault decisions and the
 * same webhook drops, call for call. Faults and drops draw from separate streams, so the webhooks a
 * run sends do not shift which API calls fail, and the other way round.
 */
export class SandboxRandom {
  #seed = 0;
  #faults = mulberry32(0);
  #drops = mulberry32(0);

  constructor(seed: number) {
    this.reseed(seed);
  }

  get seed(): number {
    return this.#seed;
  }

  /** Starts both streams again from `seed`. */
  reseed(seed: number): void {
    this.#seed = seed >>> 0;
    this.#faults = mulberry32(this.#seed);
    // A fixed odd constant (the golden ratio's) keeps the drop stream apart from the fault stream.
    this.#drops = mulberry32(this.#seed ^ 0x9e3779b9);
  }

  fault(): number {
    return this.#faults();
  }

  drop(): number {
    return this.#drops();
  }
}
