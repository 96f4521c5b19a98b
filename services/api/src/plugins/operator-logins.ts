import type { StructuredLogger } from '@calgate/errors';

/** Failed operator logins from one address before its logins pause, and for how long they count. */
const MAX_FAILURES = 10;
const WINDOW_MS = 60_000;
/** Addresses remembered at most; past it the oldest window is forgotten first (a flood of addresses). */
const MAX_ADDRESSES = 10_000;

/**
 * Guesses at the operator's password: each failed login is logged (warn, with the address), and
 * an address that failed `MAX_FAILURES` times within a minute is answered 429 until that minute is
 * over, whatever it sends. Counted per API process, which is enough to make a guess cost a
 * minute per ten tries; the operator's own mistyped password pauses them for at most a minute.
 */
export interface OperatorLogins {
  /** Seconds the address must wait, or undefined when it may try. */
  retryAfter(address: string): number | undefined;
  failed(address: string, path: string): void;
  succeeded(address: string): void;
}

export function createOperatorLogins(
  logger: Pick<StructuredLogger, 'warn'>,
  now: () => number = Date.now,
): OperatorLogins {
  const failures = new Map<string, { count: number; since: number }>();
  const current = (address: string) => {
    const entry = failures.get(address);
    if (entry !== undefined && now() - entry.since >= WINDOW_MS) {
      failures.delete(address);
      return undefined;
    }
    return entry;
  };
  return {
    retryAfter(address) {
      const entry = current(address);
      if (entry === undefined || entry.count < MAX_FAILURES) return undefined;
      return Math.max(1, Math.ceil((entry.since + WINDOW_MS - now()) / 1000));
    },
    failed(address, path) {
      const entry = current(address) ?? { count: 0, since: now() };
      entry.count++;
      failures.delete(address);
      failures.set(address, entry);
      if (failures.size > MAX_ADDRESSES) failures.delete(failures.keys().next().value as string);
      logger.warn(
        { address, path, failures: entry.count },
        entry.count >= MAX_FAILURES
          ? 'operator login refused: logins from this address paused for a minute'
          : 'operator login refused',
      );
    },
    succeeded(address) {
      failures.delete(address);
    },
  };
}
