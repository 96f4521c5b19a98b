import { keyFingerprint } from '@calgate/calcom';
import {
  apiTokens,
  companies,
  companyEventTypes,
  type Database,
  generateApiToken,
  type Keyring,
  newId,
  openSecret,
  SECRET_COLUMNS,
  sealSecret,
} from '@calgate/db';
import { AppError } from '@calgate/errors';
import { isIanaTimeZone } from '@calgate/time';
import { and, eq, isNotNull, ne, sql } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';
import { scopeCompany, unassignIn } from './scope.ts';

/** What a company's own Cal.com key must not be: the shared account's (CALCOM_API_KEY fingerprint). */
export interface KeyRules {
  sharedKeyId?: string | undefined;
}

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * A company's own key makes its scope the whole Cal.com account behind it. The shared account's
 * key, or another company's, would give it every event type and booking of a company it shares
 * the account with: refused, naming the way companies share an account (assigned event types).
 * Runs in the transaction that stores the key, under one advisory lock every key write takes:
 * two concurrent writes of one key cannot both pass (keys are stored encrypted, so no unique
 * index can compare them).
 */
async function assertKeyOwnedAlone(
  db: Tx,
  keyring: Keyring,
  companyId: string,
  key: string,
  rules: KeyRules,
): Promise<void> {
  const fingerprint = keyFingerprint(key);
  await db.execute(sql`select pg_advisory_xact_lock(hashtextextended('calgate:company-keys', 0))`);
  if (rules.sharedKeyId !== undefined && fingerprint === rules.sharedKeyId) {
    throw new AppError(
      'VALIDATION_FAILED',
      "calcomApiKey: this is the shared account's key (CALCOM_API_KEY). A company on the shared account " +
        'keeps no key of its own: it is given event types of that account (its scope)',
      { details: { field: 'calcomApiKey' } },
    );
  }
  const others = await db
    .select({ id: companies.id, key: companies.calcomApiKeyEncrypted })
    .from(companies)
    .where(and(ne(companies.id, companyId), isNotNull(companies.calcomApiKeyEncrypted)));
  for (const other of others) {
    let theirs: string;
    try {
      theirs = openSecret(other.key as string, keyring, {
        companyId: other.id,
        column: SECRET_COLUMNS.calcomApiKey,
      });
    } catch {
      continue;
    }
    if (keyFingerprint(theirs) === fingerprint) {
      throw new AppError(
        'VALIDATION_FAILED',
        `calcomApiKey: company ${other.id} already has this key. Companies that share a Cal.com account ` +
          'use the shared key (CALCOM_API_KEY), each given its own event types of it',
        { details: { field: 'calcomApiKey' } },
      );
    }
  }
}

const CALCOM_KEY = /^cal_[A-Za-z0-9_]+$/;

function checkKey(key: string): void {
  if (!CALCOM_KEY.test(key)) {
    throw new AppError('VALIDATION_FAILED', 'calcomApiKey must be a Cal.com API key (starts with cal_)', {
      details: { field: 'calcomApiKey' },
    });
  }
}

function checkSecret(secret: string): void {
  if (secret.length < 16) {
    throw new AppError('VALIDATION_FAILED', 'webhookSecret must be at least 16 characters', {
      details: { field: 'webhookSecret' },
    });
  }
}

/**
 * A new company with its first API token. The token is returned once and only its hash is
 * stored; a Cal.com key and webhook secret, when given, are stored encrypted.
 */
export async function createCompany(
  db: Database,
  keyring: Keyring,
  input: { name: string; timezone?: string; calcomApiKey?: string; webhookSecret?: string },
  rules: KeyRules = {},
): Promise<{ companyId: string; token: string }> {
  const name = input.name.trim();
  if (name === '')
    throw new AppError('VALIDATION_FAILED', 'name is required', { details: { field: 'name' } });
  const timezone = input.timezone ?? 'UTC';
  if (!isIanaTimeZone(timezone)) {
    throw new AppError('INVALID_TIMEZONE', `timezone ${timezone.slice(0, 64)} is not an IANA zone`, {
      details: { field: 'timezone' },
    });
  }
  if (input.calcomApiKey !== undefined) checkKey(input.calcomApiKey);
  if (input.webhookSecret !== undefined) checkSecret(input.webhookSecret);
  const companyId = newId('cmp');
  const { token, hash, prefix } = generateApiToken();
  await db.transaction(async (tx) => {
    if (input.calcomApiKey !== undefined) {
      await assertKeyOwnedAlone(tx, keyring, companyId, input.calcomApiKey, rules);
    }
    await tx.insert(companies).values({
      id: companyId,
      name,
      slug: `${name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '')}-${companyId.slice(-6)}`,
      timezone,
      calcomApiKeyEncrypted:
        input.calcomApiKey === undefined
          ? null
          : sealSecret(input.calcomApiKey, keyring, { companyId, column: SECRET_COLUMNS.calcomApiKey }),
      calcomWebhookSecretEncrypted:
        input.webhookSecret === undefined
          ? null
          : sealSecret(input.webhookSecret, keyring, {
              companyId,
              column: SECRET_COLUMNS.calcomWebhookSecret,
            }),
    });
    await tx
      .insert(apiTokens)
      .values({ id: newId('tok'), companyId, name: 'initial', tokenHash: hash, tokenPrefix: prefix });
  });
  return { companyId, token };
}

/** Another API token for a company (shown once). */
export async function createApiToken(db: Database, companyId: string, name: string): Promise<string> {
  await scopeCompany(db, companyId);
  const { token, hash, prefix } = generateApiToken();
  await db
    .insert(apiTokens)
    .values({ id: newId('tok'), companyId, name, tokenHash: hash, tokenPrefix: prefix });
  return token;
}

/**
 * Sets (or, with `null`, clears back to the env default) a company's own Cal.com key or webhook
 * secret. A company that gets its own key leaves the shared account: the event types assigned to
 * it there are released for other companies, and its mappings to them soft-deleted at once (as
 * `unassignEventTypes` does). The key must be the company's alone (see `assertKeyOwnedAlone`).
 * One that goes back to the shared account owns
 * nothing there until event types are assigned to it.
 */
export async function setCompanySecrets(
  db: Database,
  keyring: Keyring,
  companyId: string,
  secrets: { calcomApiKey?: string | null; webhookSecret?: string | null },
  rules: KeyRules = {},
): Promise<void> {
  await scopeCompany(db, companyId);
  if (typeof secrets.calcomApiKey === 'string') checkKey(secrets.calcomApiKey);
  const set: Partial<typeof companies.$inferInsert> = { updatedAt: new Date() };
  if (secrets.calcomApiKey !== undefined) {
    set.calcomApiKeyEncrypted =
      secrets.calcomApiKey === null
        ? null
        : sealSecret(secrets.calcomApiKey, keyring, { companyId, column: SECRET_COLUMNS.calcomApiKey });
  }
  if (secrets.webhookSecret !== undefined) {
    if (secrets.webhookSecret !== null) checkSecret(secrets.webhookSecret);
    set.calcomWebhookSecretEncrypted =
      secrets.webhookSecret === null
        ? null
        : sealSecret(secrets.webhookSecret, keyring, {
            companyId,
            column: SECRET_COLUMNS.calcomWebhookSecret,
          });
  }
  await db.transaction(async (tx) => {
    if (typeof secrets.calcomApiKey === 'string') {
      await assertKeyOwnedAlone(tx, keyring, companyId, secrets.calcomApiKey, rules);
    }
    await tx.update(companies).set(set).where(eq(companies.id, companyId));
    if (typeof secrets.calcomApiKey === 'string') {
      const owned = await tx
        .select({ id: companyEventTypes.calcomEventTypeId })
        .from(companyEventTypes)
        .where(eq(companyEventTypes.companyId, companyId));
      if (owned.length > 0)
        await unassignIn(
          tx,
          companyId,
          owned.map((row) => row.id),
        );
    }
  });
}

/** The company row, or NOT_FOUND naming `companyId`. */
export async function loadCompany(deps: Pick<DomainDeps, 'db'>, companyId: string) {
  const [company] = await deps.db.select().from(companies).where(eq(companies.id, companyId)).limit(1);
  if (company === undefined) {
    throw new AppError('NOT_FOUND', `No company ${companyId}`, { details: { field: 'companyId' } });
  }
  return company;
}
