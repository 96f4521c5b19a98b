import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, createTestRedis, seedCompany } from '../src/index.ts';

describe('createTestDatabase', () => {
  it('gives each caller its own migrated database, concurrently', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    try {
      expect(a.name).not.toBe(b.name);
      await seedCompany(a.db, { name: 'Only in A' });
      const countIn = async (db: typeof a.db) =>
        Number((await db.execute<{ n: string }>(sql`select count(*) as n from companies`))[0]?.n);
      expect(await countIn(a.db)).toBe(1);
      expect(await countIn(b.db)).toBe(0);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });
});

describe('createTestRedis', () => {
  it('cleans up only its own keys', async () => {
    const mine = createTestRedis();
    const other = createTestRedis();
    await mine.redis.set(`${mine.prefix}:x`, '1');
    await other.redis.set(`${other.prefix}:x`, '1');
    await mine.cleanup();
    expect(await other.redis.get(`${other.prefix}:x`)).toBe('1');
    await other.cleanup();
  });
});
