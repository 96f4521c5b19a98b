import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';
import type { Database } from './client.ts';

const dialect = new PgDialect();

/**
 * Runs a statement as a named prepared statement (postgres.js keeps one per connection and text).
 * drizzle's `execute` sends every statement unnamed, so PostgreSQL parses and plans it each time;
 * for the statements every booking and lookup makes (CTEs over several tables, joins) planning
 * cost PostgreSQL more than executing. A statement's text depends only on its shape (which columns
 * it sets, which filters it has), so each connection plans each shape a few times, then reuses it.
 */
export async function executePrepared<T>(client: postgres.Sql, query: SQL): Promise<T[]> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  return executePreparedText<T>(client, text, params);
}

/** `executePrepared` for a statement whose text is written once (`$1`, `$2`, ... for `params`). */
export async function executePreparedText<T>(
  client: postgres.Sql,
  text: string,
  params: readonly unknown[],
): Promise<T[]> {
  return (await client.unsafe(text, params as never[], { prepare: true })) as unknown as T[];
}

/**
 * `executePrepared` on the database's pool; on a transaction (which has no pool of its own) the
 * statement runs through `execute`, unprepared.
 */
export async function executePreparedOn<T extends Record<string, unknown>>(
  db: Pick<Database, 'execute'> & { $client?: postgres.Sql },
  query: SQL,
): Promise<T[]> {
  if (db.$client === undefined) return (await db.execute<T>(query)) as unknown as T[];
  return executePrepared<T>(db.$client, query);
}
