import { AsyncLocalStorage } from 'node:async_hooks';
import { ANONYMOUS, type Budget, type CallKind, type Claimant } from '@calgate/budget';
import {
  type CalcomOperation,
  calcomCalendarProvider,
  createCalcomClient,
  keyFingerprint,
} from '@calgate/calcom';
import type { CalendarProvider } from '@calgate/calendar';
import { type Keyring, openSecret, SECRET_COLUMNS } from '@calgate/db';
import { AppError, type StructuredLogger } from '@calgate/errors';

export interface CalcomAccessOptions {
  baseUrl: string;
  /** The env default key (CALCOM_API_KEY), used by companies without their own. */
  defaultApiKey: string | undefined;
  bookingsApiVersion: string;
  timeoutMs: number;
  debug: boolean;
  keyring: Keyring;
  budget: Budget;
  logger: StructuredLogger;
  /** Observes every Cal.com response (metrics). */
  onResponse?: (event: { operation: string; status: number; durationMs: number }) => void;
}

export interface CompanyKeySource {
  id: string;
  calcomApiKeyEncrypted: string | null;
}

export interface CalcomAccess {
  /**
   * The client for a company: its own key when it has one, else the env default (the original
   * design's hierarchy). Every call draws from that key's shared budget, as this company's (its
   * fair share when other companies use the key too).
   * @throws AppError UNAUTHORIZED when neither key exists.
   */
  forCompany(company: CompanyKeySource): { client: CalendarProvider; keyId: string };
  /**
   * Takes one call's share of the key's budget now, for a call the company is about to make, so
   * that a job can wait for it together with its other round trips before the send. The company's
   * next call with the key in this process uses it instead of taking its own; unused after
   * `PREPAID_MS` it is dropped (budget left unused, never overspent). Waits in process for the
   * company's fair share at most `PREPAY_INLINE_WAIT_MS`, then throws RATE_LIMIT_EXCEEDED (the
   * job is put back).
   */
  prepay(keyId: string, companyId: string, signal?: AbortSignal): Promise<void>;
  /**
   * The key (fingerprint) this process last resolved for the company with `forCompany`, if any:
   * lets a job take its budget share before it has read the company. A key changed since then
   * only leaves that share unused.
   */
  lastKeyOf(companyId: string): string | undefined;
  /** The fingerprint of CALCOM_API_KEY (the shared account), if one is configured. */
  defaultKeyId: string | undefined;
}

/**
 * How long a job waits in process while its company is held to its fair share of a shared key:
 * briefly. A job that would wait longer is put back (delayed) instead, so that it does not hold a
 * worker slot that another company's job could use. (A key used up or paused for everyone is
 * still waited for in process up to the budget's own limit: the job then sends first when it
 * frees, instead of starting over.)
 */
export const PREPAY_INLINE_WAIT_MS = 250;

/** How long a prepaid share of the budget stays usable: a job sends within milliseconds of it. */
export const PREPAID_MS = 500;

/**
 * Calls that keep the local record in step (reconciliation, imports, webhook and account
 * management) rather than answer a caller who waits: served after interactive calls when both
 * wait for a key's budget.
 */
const BACKGROUND_OPERATIONS: ReadonlySet<CalcomOperation> = new Set<CalcomOperation>([
  'bookings.list',
  'me.get',
  'eventTypes.list',
  'webhooks.list',
  'webhooks.create',
  'webhooks.update',
  'webhooks.delete',
  'teams.list',
  'teams.memberships',
]);

export function callKind(operation: CalcomOperation): CallKind {
  return BACKGROUND_OPERATIONS.has(operation) ? 'background' : 'interactive';
}

/** Pause after a 429 without a usable reset header, as the contract says. */
const DEFAULT_PAUSE_MS = 60_000;

export function createCalcomAccess(options: CalcomAccessOptions): CalcomAccess {
  const clients = new Map<string, { client: CalendarProvider; keyId: string }>();
  /** The company a call is made for, set around every method of a company's client. */
  const companyOfCall = new AsyncLocalStorage<string>();
  /** When each prepaid share of a key's budget was taken, oldest first, per key and company. */
  const prepaid = new Map<string, number[]>();
  const takePrepaid = (slot: string): boolean => {
    const taken = prepaid.get(slot);
    if (taken === undefined) return false;
    const now = Date.now();
    while (taken.length > 0 && now - (taken[0] as number) > PREPAID_MS) taken.shift();
    if (taken.length === 0) {
      prepaid.delete(slot);
      return false;
    }
    taken.shift();
    return true;
  };

  function clientForKey(apiKey: string): { client: CalendarProvider; keyId: string } {
    const keyId = keyFingerprint(apiKey);
    let entry = clients.get(keyId);
    if (entry === undefined) {
      const calcom = createCalcomClient({
        baseUrl: options.baseUrl,
        apiKey,
        bookingsApiVersion: options.bookingsApiVersion,
        timeoutMs: options.timeoutMs,
        debug: options.debug,
        logger: options.logger,
        hooks: {
          beforeRequest: async (ctx, signal) => {
            const companyId = companyOfCall.getStore();
            if (companyId !== undefined && takePrepaid(`${keyId}|${companyId}`)) return;
            const claimant: Claimant =
              companyId === undefined ? ANONYMOUS : { companyId, kind: callKind(ctx.operation) };
            await options.budget.acquire(keyId, claimant, signal);
          },
          afterResponse: (ctx) => {
            options.onResponse?.({
              operation: ctx.operation,
              status: ctx.status,
              durationMs: ctx.durationMs,
            });
            if (ctx.status === 429) {
              const resetMs = (ctx.rateLimit?.resetSeconds ?? 0) * 1000;
              const pauseMs = resetMs > 0 ? resetMs : DEFAULT_PAUSE_MS;
              options.logger.warn({ key: keyId, pauseMs }, 'Cal.com answered 429: pausing this key');
              void options.budget.pause(keyId, pauseMs);
            }
          },
        },
      });
      entry = { client: calcomCalendarProvider(calcom), keyId };
      clients.set(keyId, entry);
    }
    return entry;
  }

  /** A key's client whose every call runs as the company's (its share of the key's budget). */
  const asCompany = new Map<string, { client: CalendarProvider; keyId: string }>();
  function forCompanyOnKey(
    companyId: string,
    entry: { client: CalendarProvider; keyId: string },
  ): { client: CalendarProvider; keyId: string } {
    const cacheKey = `${companyId}|${entry.keyId}`;
    let bound = asCompany.get(cacheKey);
    if (bound === undefined) {
      const inner = entry.client;
      // One wrapper per method, made on first use: `client.x === client.x`, and a method read on
      // every call allocates nothing. The provider's methods are fixed, so this stays small.
      const wrappers = new Map<PropertyKey, (...args: unknown[]) => unknown>();
      const client = new Proxy(inner, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          let wrapper = wrappers.get(property);
          if (wrapper === undefined) {
            wrapper = (...args: unknown[]) => companyOfCall.run(companyId, () => value.apply(target, args));
            wrappers.set(property, wrapper);
          }
          return wrapper;
        },
      });
      bound = { client, keyId: entry.keyId };
      if (asCompany.size >= 10_000) asCompany.clear();
      asCompany.set(cacheKey, bound);
    }
    return bound;
  }

  // A company's stored key is decrypted and fingerprinted once, not on every request. Keyed by
  // company and ciphertext: a value is bound to its company and must not open for another one.
  const byCiphertext = new Map<string, { client: CalendarProvider; keyId: string }>();
  /** The key each company's last `forCompany` resolved to (see `lastKeyOf`). */
  const lastKeys = new Map<string, string>();
  const defaultEntry = options.defaultApiKey === undefined ? undefined : clientForKey(options.defaultApiKey);

  return {
    defaultKeyId: defaultEntry?.keyId,
    async prepay(keyId, companyId, signal) {
      await options.budget.acquire(keyId, { companyId, kind: 'interactive' }, signal, PREPAY_INLINE_WAIT_MS);
      const slot = `${keyId}|${companyId}`;
      const taken = prepaid.get(slot) ?? [];
      taken.push(Date.now());
      prepaid.set(slot, taken);
    },
    forCompany(company) {
      const entry = keyEntry(company);
      if (lastKeys.get(company.id) !== entry.keyId) {
        if (lastKeys.size >= 10_000) lastKeys.clear();
        lastKeys.set(company.id, entry.keyId);
      }
      return forCompanyOnKey(company.id, entry);
    },
    lastKeyOf(companyId) {
      return lastKeys.get(companyId);
    },
  };

  function keyEntry(company: CompanyKeySource): { client: CalendarProvider; keyId: string } {
    const encrypted = company.calcomApiKeyEncrypted;
    if (encrypted !== null) {
      const cacheKey = `${company.id}:${encrypted}`;
      let entry = byCiphertext.get(cacheKey);
      if (entry === undefined) {
        entry = clientForKey(
          openSecret(encrypted, options.keyring, {
            companyId: company.id,
            column: SECRET_COLUMNS.calcomApiKey,
          }),
        );
        if (byCiphertext.size >= 10_000) byCiphertext.clear();
        byCiphertext.set(cacheKey, entry);
      }
      return entry;
    }
    if (defaultEntry !== undefined) return defaultEntry;
    throw new AppError(
      'CALCOM_UNAUTHORIZED',
      `Company ${company.id} has no Cal.com API key and no default is configured`,
      {
        details: { companyId: company.id },
      },
    );
  }
}
