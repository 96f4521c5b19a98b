import { randomBytes } from 'node:crypto';
import { createTokenLookup } from '@calgate/api';
import { signCalcomPayload } from '@calgate/calcom';
import {
  apiTokens,
  companies,
  createDb,
  hashApiToken,
  newId,
  SECRET_COLUMNS,
  sealSecret,
  singleKeyring,
} from '@calgate/db';
import { acceptWebhook, type Counters, type DomainDeps, forgetWebhookSecrets } from '@calgate/domain';
import { createTestDatabase, seedCompany, type TestDatabase } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// What a flood of made-up credentials costs, counted where it hurts: statements sent to
// PostgreSQL (postgres.js sends each through `unsafe`; decryptions only follow a query).
let database: TestDatabase;
let connection: ReturnType<typeof createDb>;
beforeAll(async () => {
  database = await createTestDatabase();
  connection = createDb(database.url, { max: 2 });
});
afterAll(async () => {
  await connection.close();
  await database.drop();
});

const counting = () => vi.spyOn(connection.sql, 'unsafe');

describe('an unknown bearer token', () => {
  it('costs one query however often it comes, and a token change forgets it', async () => {
    const tokens = createTokenLookup(connection.db, { negativeCacheMs: 60_000 });
    const queries = counting();
    const madeUp = `cgt_${'x'.repeat(32)}`;
    for (let i = 0; i < 50; i++) expect(await tokens.lookup(madeUp)).toBeUndefined();
    expect(queries).toHaveBeenCalledTimes(1);
    queries.mockRestore();

    // The same token becomes valid (as if created with it): after a token change it works at once.
    const company = await seedCompany(connection.db, { name: 'Late token' });
    await connection.db.insert(apiTokens).values({
      id: newId('tok'),
      companyId: company.companyId,
      name: 'late',
      tokenHash: hashApiToken(madeUp),
      tokenPrefix: madeUp.slice(0, 12),
    });
    tokens.forget(company.companyId);
    expect((await tokens.lookup(madeUp))?.id).toBe(company.companyId);
  });

  it('costs no query at all when it is not even shaped like a token we issue', async () => {
    const tokens = createTokenLookup(connection.db, { negativeCacheMs: 60_000 });
    const queries = counting();
    for (const garbage of [
      'x',
      'cgt_short',
      `cgt_${'z'.repeat(33)}`,
      `cgt_${'-'.repeat(32)}`,
      `tok_${'a'.repeat(32)}`,
    ]) {
      expect(await tokens.lookup(garbage)).toBeUndefined();
    }
    expect(queries).not.toHaveBeenCalled();
    queries.mockRestore();
  });

  it('is looked up each time when the cache is turned off (NEGATIVE_CACHE_SECONDS=0)', async () => {
    const tokens = createTokenLookup(connection.db, { negativeCacheMs: 0 });
    const queries = counting();
    for (let i = 0; i < 5; i++) await tokens.lookup(`cgt_${'y'.repeat(32)}`);
    expect(queries).toHaveBeenCalledTimes(5);
    queries.mockRestore();
  });
});

describe("bad deliveries to a company's webhook URL", () => {
  const key = randomBytes(32);
  const counters: Counters = {
    increment: async () => undefined,
    read: async () => ({}) as Awaited<ReturnType<Counters['read']>>,
  };
  const deps = () =>
    ({
      db: connection.db,
      keyring: singleKeyring(key),
      counters,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      queues: { enqueue: async () => undefined },
    }) as unknown as Pick<
      DomainDeps,
      'db' | 'queues' | 'logger' | 'counters' | 'keyring' | 'redis' | 'redisPrefix'
    >;
  const secrets = { defaultSecret: undefined, negativeCacheMs: 60_000 };
  const body = (n: number) =>
    Buffer.from(
      JSON.stringify({ triggerEvent: 'PING', createdAt: '2026-11-24T10:00:00.000Z', payload: { n } }),
    );
  const deliver = (companyId: string, n: number, secret: string) =>
    acceptWebhook(deps(), secrets, {
      rawBody: body(n),
      signature: signCalcomPayload(body(n).toString('utf8'), secret),
      companyId,
    });

  it('naming an unknown company cost one query however often they come', async () => {
    const queries = counting();
    const unknown = newId('cmp');
    for (let i = 0; i < 30; i++) {
      await expect(deliver(unknown, i, 'whatever-secret-000')).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
    }
    expect(queries).toHaveBeenCalledTimes(1);
    queries.mockRestore();
  });

  it('naming made-up ids not shaped like ours cost no query, however many', async () => {
    const queries = counting();
    for (let i = 0; i < 30; i++) {
      const madeUp = `cmp_${randomBytes(8).toString('hex')}`;
      await expect(deliver(madeUp, i, 'whatever-secret-000')).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        message: 'Unknown company in the webhook URL',
      });
    }
    expect(queries).not.toHaveBeenCalled();
    queries.mockRestore();
  });

  it('with bad signatures cost a bounded number of queries, and a secret set meanwhile verifies', async () => {
    const company = await seedCompany(connection.db, { name: 'Flooded' });
    const setSecret = (secret: string) =>
      connection.db
        .update(companies)
        .set({
          calcomWebhookSecretEncrypted: sealSecret(secret, singleKeyring(key), {
            companyId: company.companyId,
            column: SECRET_COLUMNS.calcomWebhookSecret,
          }),
        })
        .where(eq(companies.id, company.companyId));
    await setSecret('flooded-secret-first-1');
    expect((await deliver(company.companyId, 0, 'flooded-secret-first-1')).duplicate).toBe(false);

    const queries = counting();
    for (let i = 1; i <= 200; i++) {
      await expect(deliver(company.companyId, i, `forged-secret-${i}`)).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
    }
    // Before: two queries and a decryption per forged delivery (400 queries); now a few re-checks per window.
    expect(queries.mock.calls.length).toBeLessThanOrEqual(6);
    queries.mockRestore();

    // Set while the window is exhausted, and announced (as every way of setting a secret does).
    await setSecret('flooded-secret-second-2');
    forgetWebhookSecrets(company.companyId);
    expect((await deliver(company.companyId, 500, 'flooded-secret-second-2')).duplicate).toBe(false);
  });
});
