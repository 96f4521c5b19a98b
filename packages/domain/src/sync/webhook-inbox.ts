import { createHash } from 'node:crypto';
import { LocalCache } from '@calgate/cache';
import { parseCalcomWebhook, peekCalcomWebhook, verifyCalcomSignature } from '@calgate/calcom';
import {
  companies,
  type Database,
  type Keyring,
  newId,
  openSecret,
  retiredWebhookSecrets,
  SECRET_COLUMNS,
  storableText,
  webhookInbox,
} from '@calgate/db';
import { AppError, isBackingServiceUnavailable } from '@calgate/errors';
import { errorLogFields } from '@calgate/jobs';
import { and, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { ALL_COMPANIES } from '../accounts/auth-changes.ts';
import { sharedAccountOwner } from '../accounts/scope.ts';
import type { DomainDeps } from '../deps.ts';
import { type ApplyResult, applyObservedBooking } from './apply-booking.ts';
import { sharedChainOwner } from './chain-owner.ts';
import { inboxWriter } from './inbox-writer.ts';
import { observeWebhook } from './observed.ts';
import { spillDelivery } from './webhook-spill.ts';

export interface WebhookSecrets {
  /** CALCOM_WEBHOOK_SECRET: the shared account's, verifying the global URL only. */
  defaultSecret: string | undefined;
  /**
   * NEGATIVE_CACHE_SECONDS: how long a company URL that failed against its stored secrets (or
   * names no company) answers 401 from memory, without a query or a decryption.
   */
  negativeCacheMs: number;
}

export interface AcceptedWebhook {
  inboxId: string;
  duplicate: boolean;
  enqueued: boolean;
}

/**
 * Intake of one Cal.com delivery: verifies the signature over the raw bytes, stores it in the
 * inbox (deduplicated per receiving company: trigger + uid + body hash) and enqueues its
 * processing. Processing happens in a worker; this only has to be durable. Redis being down is
 * fine (the sweeper enqueues later); so is PostgreSQL (the delivery is kept in Redis, see
 * `spillDelivery`); both at once answer 503 (the delivery is lost; the reconciliation catches it).
 * @throws AppError UNAUTHORIZED (bad or missing signature, unknown company), VALIDATION_FAILED (not JSON / not a webhook).
 */
export async function acceptWebhook(
  deps: Pick<DomainDeps, 'db' | 'queues' | 'logger' | 'counters' | 'keyring' | 'redis' | 'redisPrefix'>,
  secrets: WebhookSecrets,
  delivery: { rawBody: Buffer; signature: string | undefined; companyId: string | undefined },
): Promise<AcceptedWebhook> {
  const verifies = (candidates: string[]) =>
    candidates.some((secret) => verifyCalcomSignature(delivery.rawBody, delivery.signature, secret));
  const known = await secretsFor(deps, secrets, delivery.companyId);
  let valid = verifies(known.secrets);
  if (!valid && known.cached && mayRecheck(delivery.companyId as string, secrets.negativeCacheMs)) {
    // The secret may have been rotated since it was cached: check against the stored ones.
    valid = verifies((await secretsFor(deps, secrets, delivery.companyId, { fresh: true })).secrets);
  }
  if (!valid) {
    await deps.counters.increment('webhooks_rejected');
    throw new AppError(
      'UNAUTHORIZED',
      delivery.signature === undefined
        ? 'Missing X-Cal-Signature-256 header'
        : 'X-Cal-Signature-256 does not match the body',
      { details: { field: 'x-cal-signature-256' } },
    );
  }
  const text = delivery.rawBody.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    await deps.counters.increment('webhooks_rejected');
    throw new AppError('VALIDATION_FAILED', 'The body is not valid JSON', { details: { field: 'body' } });
  }
  const webhook = peekCalcomWebhook(json);
  if (webhook === undefined) {
    void deps.counters.increment('webhooks_rejected');
    throw new AppError('VALIDATION_FAILED', 'The body is not a Cal.com webhook: triggerEvent is required', {
      details: { field: 'triggerEvent' },
    });
  }
  const bodyHash = createHash('sha256').update(delivery.rawBody).digest('hex');
  // Per receiving URL: a delivery is stored and applied in the scope of the URL it came to.
  const dedupeKey = `${delivery.companyId ?? '-'}:${webhook.trigger}:${webhook.uid ?? '-'}:${bodyHash}`;
  const row = {
    companyId: delivery.companyId ?? null,
    trigger: webhook.trigger,
    uid: webhook.uid ?? null,
    dedupeKey,
    json: storableJson(text, json),
  };
  let stored: { id: string; fresh: boolean };
  try {
    stored = await inboxWriter(deps.db).store(row);
  } catch (error) {
    if (!isBackingServiceUnavailable(error)) throw error;
    // PostgreSQL away: kept in Redis and answered (Cal.com would not send it again); the worker's
    // sweeper stores it once PostgreSQL is back. If Redis cannot keep it either, the 503 stands.
    const id = newId('whk');
    await spillDelivery(deps, { ...row, id }).catch(() => {
      throw error;
    });
    deps.logger.warn(
      { inboxId: id },
      'PostgreSQL unavailable: webhook delivery kept in Redis until it returns',
    );
    void deps.counters.increment('webhooks_spilled');
    return { inboxId: id, duplicate: false, enqueued: false };
  }
  const inboxId = stored.id;
  const fresh = stored.fresh ? stored : undefined;
  // Counted without waiting: the answer must not wait for a metric.
  void deps.counters.increment(fresh === undefined ? 'webhooks_duplicate' : 'webhooks_accepted');
  if (fresh === undefined) return { inboxId, duplicate: true, enqueued: false };
  const enqueued = await enqueueInboxRow(deps, inboxId);
  return { inboxId, duplicate: false, enqueued };
}

/** A JSON escape PostgreSQL's jsonb refuses: NUL, or a surrogate (paired ones are re-written whole). */
const JSONB_REFUSES = /\\u0000|\\u[dD][89a-fA-F]/;

/**
 * The delivery's text as stored: as received, unless it holds what jsonb cannot store (a NUL or an
 * unpaired surrogate in a free-text field). Cal.com delivers once, so such a delivery is kept
 * with those characters replaced (U+FFFD) rather than refused; its signature was checked on the
 * bytes received.
 */
function storableJson(text: string, json: unknown): string {
  if (!JSONB_REFUSES.test(text)) return text;
  return JSON.stringify(json, (_key, value: unknown) =>
    typeof value === 'string' ? storableText(value) : value,
  );
}

/**
 * Drops what is cached of a company's webhook secrets (`ALL_COMPANIES`: every company's), e.g.
 * after its secret was set: its next delivery is checked against the stored secrets.
 */
export function forgetWebhookSecrets(companyId: string): void {
  if (companyId === ALL_COMPANIES) {
    companySecrets.clear();
    rechecks.clear();
  } else {
    companySecrets.delete(companyId);
    rechecks.delete(companyId);
  }
}

/**
 * Whether a failure against cached secrets may be checked against the stored ones: a few times
 * per `negativeCacheMs` window and company, so a secret set meanwhile verifies at once, while a
 * flood of bad signatures costs at most that many queries and decryptions per window.
 */
function mayRecheck(companyId: string, negativeCacheMs: number): boolean {
  const now = Date.now();
  let window = rechecks.get(companyId);
  if (window === undefined || window.until <= now) {
    window = { until: now + negativeCacheMs, count: 0 };
    rechecks.set(companyId, window);
  }
  window.count++;
  return window.count <= RECHECKS_PER_WINDOW || negativeCacheMs === 0;
}

/**
 * The secrets a delivery to a URL may be signed with. The global URL takes only
 * CALCOM_WEBHOOK_SECRET (the shared account's); a company's URL takes only the company's own
 * secret and, for `WEBHOOK_SECRET_OVERLAP_MS` after a rotation, the one it replaced. A company
 * without a secret of its own has no URL of its own: nothing verifies there, so a delivery
 * captured elsewhere cannot be replayed to it.
 *
 * A company's secrets, decrypted, are reused for `SECRET_CACHE_MS` (one query and one decryption
 * fewer per delivery). A delivery that fails against cached secrets is checked again against the
 * stored ones, so a rotation takes effect at once, up to `RECHECKS_PER_WINDOW` times per
 * `negativeCacheMs`; further failures in that window answer from memory (a flood of bad
 * signatures costs a few queries, not one each). A secret set during such a flood verifies within
 * that window, at once when this process hears of the change (`forgetWebhookSecrets`). An
 * unknown company is remembered for `negativeCacheMs`.
 */
const SECRET_CACHE_MS = 10_000;
const RECHECKS_PER_WINDOW = 3;
// Each entry carries its own end (a retired secret's overlap may end first), checked on reading.
// `secrets` undefined: no such company.
const companySecrets = new LocalCache<string, { secrets: string[] | undefined; until: number }>({
  name: 'webhook-secrets',
  maxEntries: 10_000,
});
const rechecks = new LocalCache<string, { until: number; count: number }>({
  name: 'webhook-secret-rechecks',
  maxEntries: 10_000,
});

/** What `newId('cmp')` makes: the prefix, then 26 characters of Crockford's base32. */
const COMPANY_ID = /^cmp_[0-9abcdefghjkmnpqrstvwxyz]{26}$/;

const unknownCompany = () =>
  new AppError('UNAUTHORIZED', 'Unknown company in the webhook URL', { details: { field: 'companyId' } });

async function secretsFor(
  deps: Pick<DomainDeps, 'db' | 'keyring'>,
  secrets: WebhookSecrets,
  companyId: string | undefined,
  options: { fresh?: boolean } = {},
): Promise<{ secrets: string[]; cached: boolean }> {
  if (companyId === undefined) {
    return { secrets: secrets.defaultSecret === undefined ? [] : [secrets.defaultSecret], cached: false };
  }
  // Not even the shape of a company id: no query, and nothing cached that could push out a real one.
  if (!COMPANY_ID.test(companyId)) throw unknownCompany();
  const hit = companySecrets.get(companyId);
  const now = Date.now();
  if (options.fresh !== true && hit !== undefined && hit.until > now) {
    if (hit.secrets === undefined) throw unknownCompany();
    return { secrets: hit.secrets, cached: true };
  }
  const found = await storedSecrets(deps.db, deps.keyring, companyId, now);
  if (found === undefined) {
    companySecrets.set(companyId, { secrets: undefined, until: now + secrets.negativeCacheMs });
    throw unknownCompany();
  }
  companySecrets.set(companyId, { secrets: found.secrets, until: found.until });
  return { secrets: found.secrets, cached: false };
}

async function storedSecrets(
  db: Database,
  keyring: Keyring,
  companyId: string,
  now: number,
): Promise<{ secrets: string[]; until: number } | undefined> {
  const [company] = await db
    .select({ secret: companies.calcomWebhookSecretEncrypted })
    .from(companies)
    .where(eq(companies.id, companyId))
    .limit(1);
  if (company === undefined) return undefined;
  const retired = await db
    .select({ secret: retiredWebhookSecrets.secretEncrypted, validUntil: retiredWebhookSecrets.validUntil })
    .from(retiredWebhookSecrets)
    .where(
      and(
        eq(retiredWebhookSecrets.companyId, companyId),
        gt(retiredWebhookSecrets.validUntil, new Date(now)),
      ),
    );
  const list = [
    ...(company.secret === null
      ? []
      : [openSecret(company.secret, keyring, { companyId, column: SECRET_COLUMNS.calcomWebhookSecret })]),
    ...retired.map((r) =>
      openSecret(r.secret, keyring, { companyId, column: SECRET_COLUMNS.retiredWebhookSecret }),
    ),
  ];
  // A retired secret stops verifying when its overlap ends, even from the cache.
  const until = Math.min(now + SECRET_CACHE_MS, ...retired.map((r) => r.validUntil.getTime()));
  return { secrets: list, until };
}

/** The row stays `received` until processed: the sweeper treats received and queued alike. */
async function enqueueInboxRow(
  deps: Pick<DomainDeps, 'queues' | 'logger'>,
  inboxId: string,
): Promise<boolean> {
  try {
    await deps.queues.enqueue('webhook.process', { inboxId });
    return true;
  } catch (error) {
    deps.logger.warn(
      { ...errorLogFields(error).fields, inboxId },
      'webhook stored but not enqueued; the sweeper will enqueue it',
    );
    return false;
  }
}

/**
 * `webhook.process`: applies one stored delivery. Idempotent: a processed or ignored row is left
 * alone, and applying the same change twice changes nothing.
 */
export async function processWebhook(
  deps: DomainDeps,
  payload: { inboxId: string },
): Promise<ApplyResult | { outcome: 'done-before' }> {
  const [row] = await deps.db
    .select()
    .from(webhookInbox)
    .where(eq(webhookInbox.id, payload.inboxId))
    .limit(1);
  if (row === undefined) return { outcome: 'done-before' };
  if (row.status === 'processed' || row.status === 'ignored') return { outcome: 'done-before' };
  await deps.db
    .update(webhookInbox)
    .set({ status: 'processing', attempts: sql`${webhookInbox.attempts} + 1` })
    .where(eq(webhookInbox.id, row.id));
  const observed = observeWebhook(parseCalcomWebhook(row.payload));
  // A delivery to the global URL belongs to the company whose booking it continues (its event
  // type may have moved to another company since), else to the one whose scope owns its event type.
  const companyId =
    row.companyId ??
    ('ignored' in observed
      ? undefined
      : ((await sharedChainOwner(deps.db, observed)) ??
        (observed.eventTypeId === null
          ? undefined
          : await sharedAccountOwner(deps.db, observed.eventTypeId))));
  let result: ApplyResult;
  if ('ignored' in observed) result = { outcome: 'ignored', detail: observed.ignored };
  else if (companyId === undefined) {
    await deps.counters.increment('webhooks_out_of_scope');
    result = {
      outcome: 'ignored',
      detail: `event type ${observed.eventTypeId ?? 'unknown'} is outside every company's scope`,
    };
  } else result = await applyObservedBooking(deps, observed, { companyId, actor: 'webhook' });
  await deps.db
    .update(webhookInbox)
    .set({
      companyId: companyId ?? null,
      status: result.outcome === 'ignored' ? 'ignored' : 'processed',
      lastError: result.outcome === 'ignored' ? result.detail : null,
      processedAt: new Date(),
    })
    .where(eq(webhookInbox.id, row.id));
  await deps.counters.increment(`webhooks_${result.outcome}`);
  deps.logger.info(
    { inboxId: row.id, trigger: row.triggerEvent, uid: row.bookingUid, ...result },
    'webhook processed',
  );
  return result;
}

/** The delivery could not be applied after its retries: visible in the inbox and the dashboard. */
export async function failWebhook(
  deps: DomainDeps,
  payload: { inboxId: string },
  error: unknown,
): Promise<void> {
  await deps.db
    .update(webhookInbox)
    .set({
      status: 'failed',
      lastError: error instanceof Error ? error.message.slice(0, 500) : String(error),
    })
    .where(eq(webhookInbox.id, payload.inboxId));
  await deps.counters.increment('webhooks_failed');
  deps.logger.error(
    { inboxId: payload.inboxId, ...errorLogFields(error).fields },
    'webhook processing failed after its retries',
  );
}

/** Deliveries stored while Redis was away (or whose job was lost) are enqueued again. */
export async function sweepWebhookInbox(
  deps: Pick<DomainDeps, 'db' | 'queues' | 'logger'>,
  options: { graceMs?: number; limit?: number } = {},
): Promise<number> {
  const rows = await deps.db
    .select({ id: webhookInbox.id })
    .from(webhookInbox)
    .where(
      and(
        inArray(webhookInbox.status, ['received', 'enqueued', 'processing']),
        lt(webhookInbox.receivedAt, new Date(Date.now() - (options.graceMs ?? 10_000))),
      ),
    )
    .limit(options.limit ?? 500);
  let enqueued = 0;
  for (const row of rows) {
    const done = await deps.queues.ensure('webhook.process', { inboxId: row.id });
    if (done === 'present') continue;
    enqueued++;
    await deps.db
      .update(webhookInbox)
      .set({ status: 'enqueued', enqueuedAt: new Date() })
      .where(and(eq(webhookInbox.id, row.id), eq(webhookInbox.status, 'received')));
  }
  if (enqueued > 0) deps.logger.info({ enqueued }, 'sweeper enqueued stored webhook deliveries');
  return enqueued;
}
