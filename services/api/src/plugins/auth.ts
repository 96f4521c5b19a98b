import { apiTokens, companies, type Database, hashApiToken } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, eq, isNull } from 'drizzle-orm';
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

/** Token lookups are cached briefly; a revoked token stops working within this time. */
const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;

/**
 * Every route in the scope requires `Authorization: Bearer <company API token>`; the company it
 * belongs to becomes `request.company`, and every query is scoped by it.
 */
export function registerCompanyAuth(app: FastifyInstance, db: Database): void {
  const cache = new Map<string, { company: AuthenticatedCompany; until: number }>();
  app.decorateRequest('company', null as unknown as AuthenticatedCompany);

  // Keyed by the token as presented (held in process memory only, as the request itself is), so
  // a token seen in the last seconds costs no hashing; the database holds only its hash.
  async function lookup(token: string): Promise<AuthenticatedCompany | undefined> {
    const hit = cache.get(token);
    if (hit !== undefined && hit.until > Date.now()) return hit.company;
    const hash = hashApiToken(token);
    const [row] = await db
      .select({
        id: companies.id,
        name: companies.name,
        calcomApiKeyEncrypted: companies.calcomApiKeyEncrypted,
        tokenId: apiTokens.id,
      })
      .from(apiTokens)
      .innerJoin(companies, eq(companies.id, apiTokens.companyId))
      .where(and(eq(apiTokens.tokenHash, hash), isNull(apiTokens.revokedAt)))
      .limit(1);
    if (row === undefined) return undefined;
    const company = { id: row.id, name: row.name, calcomApiKeyEncrypted: row.calcomApiKeyEncrypted };
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(token, { company, until: Date.now() + CACHE_MS });
    void db
      .update(apiTokens)
      .set({ lastUsedAt: new Date() })
      .where(eq(apiTokens.id, row.tokenId))
      .catch(() => undefined);
    return company;
  }

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S{1,200})$/i.exec(header.trim()) : null;
    if (match === null) {
      throw new AppError('UNAUTHORIZED', 'Authorization: a Bearer token is required', {
        details: { field: 'Authorization' },
      });
    }
    const company = await lookup(match[1] as string);
    if (company === undefined) {
      throw new AppError('UNAUTHORIZED', 'Authorization: the token is not valid', {
        details: { field: 'Authorization' },
      });
    }
    request.company = company;
  });
}
