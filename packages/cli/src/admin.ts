import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  applyCatalog,
  formatCatalogChanges,
  listCompanies,
  listTokens,
  type Mismatch,
  parseCatalog,
  revokeToken,
  setCompanyDisabled,
  updateCompany,
} from '@calgate/domain';
import { isAppError } from '@calgate/errors';
import type { DomainRuntime } from '@calgate/runtime';
import { parse as parseYaml } from 'yaml';

export interface AdminContext {
  runtime: DomainRuntime;
  out: (line: string) => void;
}

/** Reads a catalog file: JSON by its `.json` extension, YAML otherwise. */
export async function readCatalogFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return extname(path).toLowerCase() === '.json'
      ? JSON.parse(text)
      : parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new Error(`${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${String(error)}`);
  }
}

/**
 * Prints what applying the catalog would change, then (unless `dryRun`, or nothing would change)
 * applies it. Every new or changed mapping is checked against Cal.com before anything is written.
 * @returns how many changes were applied.
 */
export async function catalogApply(
  context: AdminContext,
  companyId: string,
  path: string,
  options: { dryRun: boolean },
): Promise<number> {
  const catalog = parseCatalog(await readCatalogFile(path));
  try {
    const plan = await applyCatalog(context.runtime, companyId, catalog, { dryRun: true });
    for (const line of formatCatalogChanges(plan.changes)) context.out(line);
    if (options.dryRun || plan.changes.length === 0) {
      if (options.dryRun && plan.changes.length > 0)
        context.out(`dry run: ${plan.changes.length} change(s) not applied`);
      return 0;
    }
    const result = await applyCatalog(context.runtime, companyId, catalog);
    context.out(`applied ${result.changes.length} change(s)`);
    return result.changes.length;
  } catch (error) {
    if (isAppError(error) && error.code === 'EVENT_TYPE_MISMATCH') {
      const mismatches = (error.details?.mismatches ?? []) as Mismatch[];
      context.out(`nothing applied: ${mismatches.length} mapping(s) do not match Cal.com`);
      for (const m of mismatches) {
        context.out(
          `    ${m.field}: event type ${m.eventTypeId} ${m.property} expected ${String(m.expected)}, actual ${String(m.actual)}`,
        );
      }
      throw new Error('catalog not applied');
    }
    throw error;
  }
}

export async function companyDisable(
  context: AdminContext,
  companyId: string,
  disabled: boolean,
): Promise<void> {
  const company = await setCompanyDisabled(context.runtime, companyId, disabled);
  context.out(
    `company ${company.id} ${company.disabled ? 'disabled: its API tokens are refused' : 'enabled'}`,
  );
}

/** Every company: id, zone, whether it has its own Cal.com key, whether it is disabled (never a secret). */
export async function companyList(context: AdminContext): Promise<void> {
  const rows = await listCompanies(context.runtime);
  for (const c of rows) {
    context.out(
      `${c.id}\t${c.name}\t${c.timeZone}\t${c.ownCalcomKey ? 'own Cal.com key' : 'shared account'}\t${c.disabled ? 'disabled' : 'enabled'}`,
    );
  }
  context.out(`${rows.length} company(ies)`);
}

export async function companyUpdate(
  context: AdminContext,
  companyId: string,
  input: { name?: string | undefined; timeZone?: string | undefined },
): Promise<void> {
  if (input.name === undefined && input.timeZone === undefined) {
    throw new Error('--name or --timezone is required');
  }
  const company = await updateCompany(context.runtime, companyId, input);
  context.out(`company ${company.id}: ${company.name}, time zone ${company.timeZone}`);
}

export async function tokenList(context: AdminContext, companyId: string): Promise<void> {
  const tokens = await listTokens(context.runtime, companyId);
  for (const token of tokens) {
    context.out(
      `${token.id}\t${token.prefix}…\t${token.name}\t${token.revokedAt === null ? 'active' : `revoked ${token.revokedAt}`}\tlast used ${token.lastUsedAt ?? 'never'}`,
    );
  }
  context.out(`${tokens.length} token(s)`);
}

export async function tokenRevoke(context: AdminContext, companyId: string, tokenId: string): Promise<void> {
  const token = await revokeToken(context.runtime, companyId, tokenId);
  context.out(`token ${token.id} (${token.prefix}…) revoked at ${token.revokedAt ?? ''}`);
}
