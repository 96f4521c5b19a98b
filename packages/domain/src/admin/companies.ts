import { apiTokens, companies, generateApiToken, newId } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, asc, desc, eq, isNull } from 'drizzle-orm';
import { announceAuthChange } from '../accounts/auth-changes.ts';
import { createCompany } from '../accounts/companies.ts';
import type { DomainDeps } from '../deps.ts';
import { checkTimeZone } from './time-zone.ts';

type CompanyRow = typeof companies.$inferSelect;
type TokenRow = typeof apiTokens.$inferSelect;
type Deps = Pick<DomainDeps, 'db' | 'redis' | 'redisPrefix' | 'logger'>;

/** A company as operators see it: never a secret, only whether it has its own. */
export interface CompanyView {
  id: string;
  name: string;
  slug: string;
  timeZone: string;
  disabled: boolean;
  disabledAt: string | null;
  ownCalcomKey: boolean;
  ownWebhookSecret: boolean;
  createdAt: string;
  updatedAt: string;
}

/** An API token without its secret (only its first characters, to recognise it). */
export interface TokenView {
  id: string;
  companyId: string;
  name: string;
  prefix: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

const iso = (value: Date | null) => (value === null ? null : value.toISOString());

export function companyView(row: CompanyRow): CompanyView {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    timeZone: row.timezone,
    disabled: row.disabledAt !== null,
    disabledAt: iso(row.disabledAt),
    ownCalcomKey: row.calcomApiKeyEncrypted !== null,
    ownWebhookSecret: row.calcomWebhookSecretEncrypted !== null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function tokenView(row: TokenRow): TokenView {
  return {
    id: row.id,
    companyId: row.companyId,
    name: row.name,
    prefix: row.tokenPrefix,
    lastUsedAt: iso(row.lastUsedAt),
    revokedAt: iso(row.revokedAt),
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * The company row, for any admin operation on it.
 * @throws AppError NOT_FOUND naming `companyId`.
 */
export async function requireCompany(deps: Pick<DomainDeps, 'db'>, companyId: string): Promise<CompanyRow> {
  const [row] = await deps.db.select().from(companies).where(eq(companies.id, companyId)).limit(1);
  if (row === undefined) {
    throw new AppError('NOT_FOUND', `companyId: no company ${companyId.slice(0, 64)}`, {
      details: { field: 'companyId' },
    });
  }
  return row;
}

/** A new company with its first API token, whose secret is returned this once. */
export async function adminCreateCompany(
  deps: Pick<DomainDeps, 'db' | 'keyring' | 'calcom'>,
  input: { name: string; timeZone?: string | undefined; calcomApiKey?: string | undefined },
): Promise<{ company: CompanyView; token: TokenView & { secret: string } }> {
  // Named as this API spells it (the CLI's `--timezone` is checked again below, as `timezone`).
  if (input.timeZone !== undefined) checkTimeZone(input.timeZone, 'timeZone');
  const created = await createCompany(
    deps.db,
    deps.keyring,
    {
      name: input.name,
      ...(input.timeZone === undefined ? {} : { timezone: input.timeZone }),
      ...(input.calcomApiKey === undefined ? {} : { calcomApiKey: input.calcomApiKey }),
    },
    { sharedKeyId: deps.calcom.defaultKeyId },
  );
  const company = await requireCompany(deps, created.companyId);
  const [token] = await deps.db.select().from(apiTokens).where(eq(apiTokens.companyId, company.id)).limit(1);
  if (token === undefined) throw new Error('the first token of a new company is missing');
  return { company: companyView(company), token: { ...tokenView(token), secret: created.token } };
}

export async function listCompanies(deps: Pick<DomainDeps, 'db'>): Promise<CompanyView[]> {
  const rows = await deps.db.select().from(companies).orderBy(asc(companies.createdAt), asc(companies.id));
  return rows.map(companyView);
}

export async function getCompany(deps: Pick<DomainDeps, 'db'>, companyId: string): Promise<CompanyView> {
  return companyView(await requireCompany(deps, companyId));
}

/**
 * Disables (or enables again) a company. While disabled its API tokens are refused on every API
 * process at once; its data stays as it was.
 */
export async function setCompanyDisabled(
  deps: Deps,
  companyId: string,
  disabled: boolean,
): Promise<CompanyView> {
  const current = await requireCompany(deps, companyId);
  if (disabled === (current.disabledAt !== null)) return companyView(current);
  const now = new Date();
  const [row] = await deps.db
    .update(companies)
    .set({ disabledAt: disabled ? now : null, updatedAt: now })
    .where(eq(companies.id, companyId))
    .returning();
  // Enabling too: API processes may remember the company's tokens as unknown (negative lookups).
  await announceAuthChange(deps, companyId);
  return companyView(row ?? current);
}

/**
 * Renames a company or changes its time zone. The zone is the default of staff created later and
 * of bookings made in Cal.com without one; staff keep their own zones, and appointments the zone
 * they were booked in.
 * @throws AppError VALIDATION_FAILED naming `name`, INVALID_TIMEZONE naming `timeZone`.
 */
export async function updateCompany(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  input: { name?: string | undefined; timeZone?: string | undefined },
): Promise<CompanyView> {
  const current = await requireCompany(deps, companyId);
  const name = input.name?.trim();
  if (name === '') {
    throw new AppError('VALIDATION_FAILED', 'name: must not be empty', { details: { field: 'name' } });
  }
  if (input.timeZone !== undefined) checkTimeZone(input.timeZone, 'timeZone');
  if (name === undefined && input.timeZone === undefined) return companyView(current);
  const [row] = await deps.db
    .update(companies)
    .set({
      ...(name === undefined ? {} : { name }),
      ...(input.timeZone === undefined ? {} : { timezone: input.timeZone }),
      updatedAt: new Date(),
    })
    .where(eq(companies.id, companyId))
    .returning();
  return companyView(row ?? current);
}

/** Another API token for the company; the secret is returned this once, only its hash is kept. */
export async function issueToken(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  name: string,
): Promise<TokenView & { secret: string }> {
  await requireCompany(deps, companyId);
  const { token, hash, prefix } = generateApiToken();
  const [row] = await deps.db
    .insert(apiTokens)
    .values({ id: newId('tok'), companyId, name, tokenHash: hash, tokenPrefix: prefix })
    .returning();
  if (row === undefined) throw new Error('token insert returned nothing');
  return { ...tokenView(row), secret: token };
}

export async function listTokens(deps: Pick<DomainDeps, 'db'>, companyId: string): Promise<TokenView[]> {
  await requireCompany(deps, companyId);
  const rows = await deps.db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.companyId, companyId))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
  return rows.map(tokenView);
}

/**
 * Revokes a token of the company, on every API process at once. Revoking a revoked token
 * changes nothing and answers it as it is.
 * @throws AppError NOT_FOUND when the company has no such token.
 */
export async function revokeToken(deps: Deps, companyId: string, tokenId: string): Promise<TokenView> {
  await requireCompany(deps, companyId);
  const [revoked] = await deps.db
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.companyId, companyId), isNull(apiTokens.revokedAt)))
    .returning();
  if (revoked !== undefined) {
    await announceAuthChange(deps, companyId);
    return tokenView(revoked);
  }
  const [existing] = await deps.db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.companyId, companyId)))
    .limit(1);
  if (existing === undefined) {
    throw new AppError('NOT_FOUND', `tokenId: no token ${tokenId.slice(0, 64)} for this company`, {
      details: { field: 'tokenId' },
    });
  }
  return tokenView(existing);
}
