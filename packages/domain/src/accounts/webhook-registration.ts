import { randomBytes } from 'node:crypto';
import {
  companies,
  type Keyring,
  newId,
  openSecret,
  retiredWebhookSecrets,
  SECRET_COLUMNS,
  sealSecret,
} from '@calgate/db';
import { AppError } from '@calgate/errors';
import { eq } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';
import { announceAuthChange } from './auth-changes.ts';
import { loadCompany } from './companies.ts';
import { HANDLED_TRIGGERS } from './webhook-triggers.ts';

export const WEBHOOK_PATH = '/api/webhooks/calcom';

/**
 * How long a rotated-out webhook secret still verifies: deliveries Cal.com signed just before
 * the rotation (it sends each at once, without retries) arrive within seconds.
 */
export const WEBHOOK_SECRET_OVERLAP_MS = 5 * 60_000;

export interface WebhookSettings {
  /** Where Cal.com reaches this gateway (PUBLIC_BASE_URL). */
  publicBaseUrl: string;
  /** CALCOM_WEBHOOK_SECRET: installed only in the shared account, never in a company's own. */
  defaultSecret: string | undefined;
}

interface ConnectionCompany {
  id: string;
  calcomApiKeyEncrypted: string | null;
}

/**
 * The subscriber URL of a company: its own path when it has its own Cal.com account (its own key,
 * verified with its own secret), else the global URL of the shared account.
 */
export function subscriberUrlFor(publicBaseUrl: string, company: ConnectionCompany): string {
  const base = `${publicBaseUrl.replace(/\/+$/, '')}${WEBHOOK_PATH}`;
  return company.calcomApiKeyEncrypted === null ? base : `${base}/${company.id}`;
}

/** A fresh webhook secret: 32 random bytes, hex. */
function freshSecret(): string {
  return randomBytes(32).toString('hex');
}

/** The company row's columns for a new webhook secret: sealed for its company and column. */
function storedWebhookSecret(secret: string, keyring: Keyring, companyId: string) {
  return {
    calcomWebhookSecretEncrypted: sealSecret(secret, keyring, {
      companyId,
      column: SECRET_COLUMNS.calcomWebhookSecret,
    }),
    updatedAt: new Date(),
  };
}

/**
 * Registers our subscriber URL in Cal.com with the triggers we handle, once: an existing
 * subscription for the URL is updated when its triggers (or its secret) must change, otherwise
 * left alone.
 *
 * A company with its own Cal.com account gets its own URL and its own secret (generated and
 * stored encrypted when it has none), and any subscription of the global URL in that account is
 * removed: the global secret is never installed in a company's account. A company on the shared
 * account is served by the shared account's one subscription of the global URL.
 */
export async function registerWebhook(
  deps: Pick<DomainDeps, 'db' | 'calcom' | 'keyring' | 'redis' | 'redisPrefix' | 'logger'>,
  companyId: string,
  settings: WebhookSettings,
): Promise<{ action: 'created' | 'updated' | 'unchanged'; id: string; subscriberUrl: string }> {
  const company = await loadCompany(deps, companyId);
  const { client, keyId } = deps.calcom.forCompany(company);
  const ownAccount = company.calcomApiKeyEncrypted !== null && keyId !== deps.calcom.defaultKeyId;
  const subscriberUrl = subscriberUrlFor(settings.publicBaseUrl, company);
  let secret: string;
  let secretChanged = false;
  if (ownAccount) {
    const stored =
      company.calcomWebhookSecretEncrypted === null
        ? undefined
        : openSecret(company.calcomWebhookSecretEncrypted, deps.keyring, {
            companyId,
            column: SECRET_COLUMNS.calcomWebhookSecret,
          });
    if (stored === undefined || stored === settings.defaultSecret) {
      secret = freshSecret();
      secretChanged = true;
      await deps.db
        .update(companies)
        .set(storedWebhookSecret(secret, deps.keyring, companyId))
        .where(eq(companies.id, companyId));
      // API processes may remember this URL's failures: the new secret must verify at once.
      await announceAuthChange(deps, companyId);
    } else secret = stored;
  } else {
    if (settings.defaultSecret === undefined || settings.defaultSecret === '') {
      throw new AppError('VALIDATION_FAILED', 'No webhook secret: set CALCOM_WEBHOOK_SECRET first', {
        details: { field: 'CALCOM_WEBHOOK_SECRET' },
      });
    }
    secret = settings.defaultSecret;
  }
  const hooks = await client.listWebhooks();
  if (ownAccount) {
    // An older registration may have put the global URL (and with it the global secret) here.
    const globalUrl = subscriberUrlFor(settings.publicBaseUrl, { id: '', calcomApiKeyEncrypted: null });
    for (const hook of hooks.filter((h) => h.subscriberUrl === globalUrl))
      await client.deleteWebhook(hook.id);
  }
  const existing = hooks.find((w) => w.subscriberUrl === subscriberUrl);
  const triggers = [...HANDLED_TRIGGERS];
  if (existing === undefined) {
    const created = await client.createWebhook({ subscriberUrl, triggers, active: true, secret });
    return { action: 'created', id: created.id, subscriberUrl };
  }
  // Cal.com answers a subscription's secret when it has one: a changed secret is installed again.
  const same =
    !secretChanged &&
    (existing.secret == null || existing.secret === secret) &&
    existing.active &&
    existing.triggers.length === triggers.length &&
    triggers.every((t) => existing.triggers.includes(t));
  if (same) return { action: 'unchanged', id: existing.id, subscriberUrl };
  await client.updateWebhook(existing.id, { triggers, active: true, secret });
  return { action: 'updated', id: existing.id, subscriberUrl };
}

/**
 * Rotates the webhook secret of a company with its own Cal.com account, in one step: a fresh
 * secret is stored (the one it replaces keeps verifying for `WEBHOOK_SECRET_OVERLAP_MS`, for
 * deliveries already on their way) and installed in the company's Cal.com subscription.
 * @throws AppError VALIDATION_FAILED when the company uses the shared account (its deliveries are
 *   signed with CALCOM_WEBHOOK_SECRET, rotated by changing that variable).
 */
export async function rotateWebhookSecret(
  deps: Pick<DomainDeps, 'db' | 'calcom' | 'keyring' | 'redis' | 'redisPrefix' | 'logger'>,
  companyId: string,
  settings: WebhookSettings,
): Promise<{ subscriberUrl: string; overlapUntil: Date; action: 'created' | 'updated' | 'unchanged' }> {
  const company = await loadCompany(deps, companyId);
  const { keyId } = deps.calcom.forCompany(company);
  if (company.calcomApiKeyEncrypted === null || keyId === deps.calcom.defaultKeyId) {
    throw new AppError(
      'VALIDATION_FAILED',
      'The company uses the shared Cal.com account: its deliveries are signed with CALCOM_WEBHOOK_SECRET',
      { details: { field: 'companyId' } },
    );
  }
  const overlapUntil = new Date(Date.now() + WEBHOOK_SECRET_OVERLAP_MS);
  const secret = freshSecret();
  await deps.db.transaction(async (tx) => {
    if (company.calcomWebhookSecretEncrypted !== null) {
      await tx.insert(retiredWebhookSecrets).values({
        id: newId('whs'),
        companyId,
        // Sealed again: a value is bound to its column, and this one moves to another.
        secretEncrypted: sealSecret(
          openSecret(company.calcomWebhookSecretEncrypted, deps.keyring, {
            companyId,
            column: SECRET_COLUMNS.calcomWebhookSecret,
          }),
          deps.keyring,
          { companyId, column: SECRET_COLUMNS.retiredWebhookSecret },
        ),
        validUntil: overlapUntil,
      });
    }
    await tx
      .update(companies)
      .set(storedWebhookSecret(secret, deps.keyring, companyId))
      .where(eq(companies.id, companyId));
  });
  await announceAuthChange(deps, companyId);
  // Stored first: until Cal.com has the new secret it signs with the old one, which still verifies.
  const registered = await registerWebhookSecret(deps, company, settings, secret);
  return { subscriberUrl: registered.subscriberUrl, overlapUntil, action: registered.action };
}

async function registerWebhookSecret(
  deps: Pick<DomainDeps, 'calcom'>,
  company: ConnectionCompany,
  settings: WebhookSettings,
  secret: string,
): Promise<{ subscriberUrl: string; action: 'created' | 'updated' }> {
  const { client } = deps.calcom.forCompany(company);
  const subscriberUrl = subscriberUrlFor(settings.publicBaseUrl, company);
  const existing = (await client.listWebhooks()).find((w) => w.subscriberUrl === subscriberUrl);
  const triggers = [...HANDLED_TRIGGERS];
  if (existing === undefined) {
    await client.createWebhook({ subscriberUrl, triggers, active: true, secret });
    return { subscriberUrl, action: 'created' };
  }
  await client.updateWebhook(existing.id, { triggers, active: true, secret });
  return { subscriberUrl, action: 'updated' };
}
