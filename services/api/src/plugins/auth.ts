import { apiTokens, companies, type Database, hashApiToken } from '@calgate/db';
import { ALL_COMPANIES } from '@calgate/domain';
import { AppError } from '@calgate/errors';
import { eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface AuthenticatedCompany {
  id: string;
  name: string;
  calcomApiKeyEncrypted: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    company: AuthenticatedCompany;
  }
}

/**
 * Token lookups are cached briefly. A revoked token or a disabled company is forgotten at once on
 * every API process (see `forget`); the lifetime bounds what a lost notification can cost.
 * Unknown and revoked tokens are remembered too (`negativeCacheMs`), so a flood of made-up tokens
 * costs no queries; a token created since cannot be among them (tokens are random), and every
 * `forget` drops them all anyway. A disabled company's tokens are not remembered (it may be
 * enabled again).
 */
const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;

/** The API process's token lookups, shared by the company auth hook and the admin routes. */
export interface TokenLookup {
  lookup(token: string): Promise<AuthenticatedCompany | undefined>;
  /**
   * Drops cached lookups of a company (`ALL_COMPANIES` for all), e.g. after a revocation, and
   * every remembered unknown token.
   */
  forget(companyId: string): void;
}

/** What `generateApiToken` issues: `cgt_` and 32 letters or digits. */
const API_TOKEN = /^cgt_[0-9A-Za-z]{32}$/;

export function createTokenLookup(db: Database, options: { negativeCacheMs: number }): TokenLookup {
  const cache = new Map<string, { company: AuthenticatedCompany; until: number }>();
  const unknown = new Map<string, number>();
  // Bumped by every forget: a lookup that read the database before the change does not store
  // its (now stale) answer after it.
  let generation = 0;

  return {
    // Keyed by the token as presented (held in process memory only, as the request itself is), so
    // a token seen in the last seconds costs no hashing; the database holds only its hash.
    async lookup(token) {
      // Not the shape of a token we issue: no hashing, no query, nothing cached.
      if (!API_TOKEN.test(token)) return undefined;
      const hit = cache.get(token);
      if (hit !== undefined && hit.until > Date.now()) return hit.company;
      if ((unknown.get(token) ?? 0) > Date.now()) return undefined;
      const startedAt = generation;
      const hash = hashApiToken(token);
      const [row] = await db
        .select({
          id: companies.id,
          name: companies.name,
          calcomApiKeyEncrypted: companies.calcomApiKeyEncrypted,
          tokenId: apiTokens.id,
          revokedAt: apiTokens.revokedAt,
          disabledAt: companies.disabledAt,
        })
        .from(apiTokens)
        .innerJoin(companies, eq(companies.id, apiTokens.companyId))
        .where(eq(apiTokens.tokenHash, hash))
        .limit(1);
      // A disabled company's token is not remembered as unknown: enabling it takes effect at once.
      if (row !== undefined && row.revokedAt === null && row.disabledAt !== null) return undefined;
      if (row === undefined || row.revokedAt !== null) {
        if (startedAt === generation && options.negativeCacheMs > 0) {
          if (unknown.size >= CACHE_MAX) unknown.clear();
          unknown.set(token, Date.now() + options.negativeCacheMs);
        }
        return undefined;
      }
      const company = { id: row.id, name: row.name, calcomApiKeyEncrypted: row.calcomApiKeyEncrypted };
      if (startedAt === generation) {
        if (cache.size >= CACHE_MAX) cache.clear();
        cache.set(token, { company, until: Date.now() + CACHE_MS });
      }
      void db
        .update(apiTokens)
        .set({ lastUsedAt: new Date() })
        .where(eq(apiTokens.id, row.tokenId))
        .catch(() => undefined);
      return company;
    },
    forget(companyId) {
      generation++;
      unknown.clear();
      if (companyId === ALL_COMPANIES) {
        cache.clear();
        return;
      }
      for (const [token, entry] of cache) if (entry.company.id === companyId) cache.delete(token);
    },
  };
}

/**
 * Every route in the scope requires `Authorization: Bearer <company API token>` of a company that
 * is not disabled; the company it belongs to becomes `request.company`, and every query is scoped by it.
 */
export function registerCompanyAuth(app: FastifyInstance, tokens: TokenLookup): void {
  app.decorateRequest('company', null as unknown as AuthenticatedCompany);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S{1,200})$/i.exec(header.trim()) : null;
    if (match === null) {
      throw new AppError('UNAUTHORIZED', 'Authorization: a Bearer token is required', {
        details: { field: 'Authorization' },
      });
    }
    const company = await tokens.lookup(match[1] as string);
    if (company === undefined) {
      throw new AppError('UNAUTHORIZED', 'Authorization: the token is not valid', {
        details: { field: 'Authorization' },
      });
    }
    request.company = company;
  });
}
