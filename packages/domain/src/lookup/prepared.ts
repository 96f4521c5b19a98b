import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';

const dialect = new PgDialect();

/**
 * Runs a statement as a named prepared statement (postgres.js keeps one per connection and text).
 * The lookups' joins cost PostgreSQL more to plan than to execute on an index; a lookup's text
 * depends only on which filters are given, so each connection plans it a few times, then reuses it.
 */
export async function executePrepared<T>(client: postgres.Sql, query: SQL): Promise<T[]> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  return (await client.unsafe(text, params as never[], { prepare: true })) as unknown as T[];
}
