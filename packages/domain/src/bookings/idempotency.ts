import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Database, idempotencyKeys } from '@calgate/db';
import { AppError, type StructuredLogger } from '@calgate/errors';
import { errorLogFields } from '@calgate/jobs';
import { and, eq, type SQL, sql } from 'drizzle-orm';

/** Keys are kept at least this long (the IETF draft asks for a documented expiry; 24 h minimum). */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A request that stayed in flight longer than this is taken to have died; its key may be replayed. */
export const IN_FLIGHT_LEASE_MS = 45_000;
const LEASE_INTERVAL = sql.raw(`interval '${IN_FLIGHT_LEASE_MS / 1000} seconds'`);

/**
 * When a key written now expires. Every age of a key is measured on the database's clock (its
 * `created_at` is too), so API processes whose clocks disagree still agree on what has expired.
 */
export function idempotencyExpiresAt(): SQL {
  return sql.raw(`(now() + interval '${IDEMPOTENCY_TTL_MS / 1000} seconds')`);
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** @throws AppError VALIDATION_FAILED when the header is not 1-255 visible ASCII characters. */
export function validateIdempotencyKey(key: string): string {
  if (!KEY_PATTERN.test(key)) {
    throw new AppError(
      'VALIDATION_FAILED',
      'Idempotency-Key header: must be 1-255 visible ASCII characters',
      {
        details: { field: 'Idempotency-Key' },
      },
    );
  }
  return key;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Fingerprint of a request: method, path and the body with keys in a stable order. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([method.toUpperCase(), path, canonical(body ?? null)]))
    .digest('hex');
}

export type IdempotencyLookup =
  | { kind: 'new' }
  | { kind: 'replay'; appointmentId: string }
  | { kind: 'in-flight' };

/** A key's record as a request with the same key sees it (an expired one is gone). */
interface LiveKey {
  state: string;
  appointmentId: string | null;
  responseBody: unknown;
  /** An in-flight request older than the lease is taken to have died. */
  leaseExpired: boolean;
}

/**
 * The key's live record, if any. An expired record is deleted: the unique index on (company, key)
 * is the only thing that holds a key, so the next request may act anew with it (a concurrent pair
 * of such requests still collides there, and one of them gets 409).
 * @throws AppError IDEMPOTENCY_KEY_REUSED (422) when the key was used with a different request.
 */
async function readLiveKey(
  db: Database,
  companyId: string,
  key: string,
  fingerprint: string,
): Promise<LiveKey | undefined> {
  const [row] = await db
    .select({
      id: idempotencyKeys.id,
      requestHash: idempotencyKeys.requestHash,
      state: idempotencyKeys.state,
      appointmentId: idempotencyKeys.appointmentId,
      responseBody: idempotencyKeys.responseBody,
      expired: sql<boolean>`${idempotencyKeys.expiresAt} <= now()`,
      leaseExpired: sql<boolean>`${idempotencyKeys.createdAt} < now() - ${LEASE_INTERVAL}`,
    })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.companyId, companyId), eq(idempotencyKeys.key, key)))
    .limit(1);
  if (row === undefined) return undefined;
  if (row.expired) {
    await db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.id, row.id), sql`${idempotencyKeys.expiresAt} <= now()`));
    return undefined;
  }
  if (row.requestHash !== fingerprint) {
    throw new AppError(
      'IDEMPOTENCY_KEY_REUSED',
      'Idempotency-Key was already used with a different request; use a new key for a new request',
      { details: { field: 'Idempotency-Key' } },
    );
  }
  return row;
}

/**
 * What an incoming booking request with this key should do: proceed, replay the appointment the
 * key produced, or wait for the first request to finish.
 * @throws AppError IDEMPOTENCY_KEY_REUSED (422) when the key was used with a different request.
 */
export async function lookupIdempotencyKey(
  db: Database,
  companyId: string,
  key: string,
  fingerprint: string,
): Promise<IdempotencyLookup> {
  const row = await readLiveKey(db, companyId, key, fingerprint);
  if (row === undefined) return { kind: 'new' };
  if (row.state === 'in_flight' && !row.leaseExpired) return { kind: 'in-flight' };
  if (row.appointmentId === null) return { kind: 'new' };
  return { kind: 'replay', appointmentId: row.appointmentId };
}

/**
 * The same for a hold request: proceed, or replay the hold the key produced (also one whose
 * request died after making it, once the lease lapsed: the caller's own hold must not refuse its
 * retry with SLOT_HELD).
 */
export async function lookupHoldKey(
  db: Database,
  companyId: string,
  key: string,
  fingerprint: string,
): Promise<{ kind: 'new' } | { kind: 'replay'; holdId: string } | { kind: 'in-flight' }> {
  const row = await readLiveKey(db, companyId, key, fingerprint);
  if (row === undefined) return { kind: 'new' };
  if (row.state === 'in_flight' && !row.leaseExpired) return { kind: 'in-flight' };
  const holdId = (row.responseBody as { holdId?: unknown } | null)?.holdId;
  return typeof holdId === 'string' ? { kind: 'replay', holdId } : { kind: 'new' };
}

/**
 * Claims the key for a new hold, in the hold's transaction, with the hold's id: inserted, or taken
 * over from a request that died (in flight past its lease). False when another request holds it.
 */
export async function claimHoldKey(
  tx: Pick<Database, 'execute'>,
  companyId: string,
  idempotency: { key: string; fingerprint: string },
  holdId: string,
): Promise<boolean> {
  const body = JSON.stringify({ holdId });
  const rows = await tx.execute(sql`
    insert into idempotency_keys
      (company_id, key, method, path, request_hash, state, response_body, expires_at)
    values (${companyId}, ${idempotency.key}, 'POST', '/api/v2/holds', ${idempotency.fingerprint},
      'in_flight', ${body}::jsonb, ${idempotencyExpiresAt()})
    on conflict (company_id, key) do update
      set response_body = excluded.response_body, created_at = now()
      where idempotency_keys.state = 'in_flight' and idempotency_keys.created_at < now() - ${LEASE_INTERVAL}
        and idempotency_keys.request_hash = excluded.request_hash
    returning id`);
  return rows.length === 1;
}

const holdKey = (companyId: string, key: string, holdId: string) =>
  and(
    eq(idempotencyKeys.companyId, companyId),
    eq(idempotencyKeys.key, key),
    sql`${idempotencyKeys.responseBody} ->> 'holdId' = ${holdId}`,
  );

/** Forgets a hold request's key when the hold was not made (its retry then tries again). */
export async function forgetHoldKey(
  db: Pick<Database, 'delete'>,
  companyId: string,
  key: string,
  holdId: string,
): Promise<void> {
  await db.delete(idempotencyKeys).where(holdKey(companyId, key, holdId));
}

/** Renews the in-flight lease of a hold request's key while the request still works on it. */
export async function renewHoldKey(
  db: Database,
  companyId: string,
  key: string,
  holdId: string,
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ createdAt: sql`now()` })
    .where(and(holdKey(companyId, key, holdId), eq(idempotencyKeys.state, 'in_flight')));
}

/** Marks the key's first request as answered, recording the status it got. */
export async function completeIdempotencyKey(
  db: Database,
  companyId: string,
  key: string,
  responseStatus: number,
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ state: 'completed', responseStatus })
    .where(and(eq(idempotencyKeys.companyId, companyId), eq(idempotencyKeys.key, key)));
}

/** How often a key left in flight by a failed request is tried again while the database is away. */
export const SETTLE_RETRY_MS = 500;

/**
 * Completes the key this request wrote for `appointmentId`, in the background, as soon as the
 * database answers. For a request that failed once its intake statement had been sent: the
 * statement's answer may have been lost in an outage after it committed, or a step after it failed.
 * The first request is over either way, so a retry with the same key should replay the appointment
 * (or book, if nothing was written) instead of getting 409 IDEMPOTENCY_KEY_IN_USE until the
 * in-flight lease lapses. Only a key written for this appointment id can match: never a concurrent
 * request's. Gives up when the lease would have lapsed anyway (or when the process stops). Callers
 * do not wait for it; the promise (which never rejects) says whether the database answered.
 */
export function settleKeyInBackground(
  deps: { db: Database; logger: StructuredLogger },
  companyId: string,
  key: string,
  appointmentId: string,
): Promise<'settled' | 'gave-up'> {
  const giveUpAt = Date.now() + IN_FLIGHT_LEASE_MS;
  return (async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.db
          .update(idempotencyKeys)
          .set({ state: 'completed' })
          .where(
            and(
              eq(idempotencyKeys.companyId, companyId),
              eq(idempotencyKeys.key, key),
              eq(idempotencyKeys.appointmentId, appointmentId),
              eq(idempotencyKeys.state, 'in_flight'),
            ),
          );
        return 'settled';
      } catch (error) {
        if (Date.now() + SETTLE_RETRY_MS >= giveUpAt) {
          deps.logger.warn(
            { ...errorLogFields(error).fields, appointmentId, attempts: attempt },
            'idempotency key left in flight; a retry replays once its lease lapses',
          );
          return 'gave-up';
        }
        await sleep(SETTLE_RETRY_MS, undefined, { ref: false });
      }
    }
  })();
}

export function inFlightError(): AppError {
  return new AppError(
    'IDEMPOTENCY_KEY_IN_USE',
    'A request with this Idempotency-Key is still being processed; retry shortly',
    { retry: true, details: { field: 'Idempotency-Key', retryAfterMs: 1_000 } },
  );
}
