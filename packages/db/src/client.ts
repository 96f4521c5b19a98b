import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as tables from './schema/index.ts';

/** Every table, for drizzle's relational queries (`db.query.appointments...`). */
export const schema = {
  apiTokens: tables.apiTokens,
  appointmentHistory: tables.appointmentHistory,
  appointmentSegments: tables.appointmentSegments,
  appointments: tables.appointments,
  companies: tables.companies,
  customers: tables.customers,
  eventTypeMappings: tables.eventTypeMappings,
  idempotencyKeys: tables.idempotencyKeys,
  serviceSegments: tables.serviceSegments,
  services: tables.services,
  staff: tables.staff,
  syncState: tables.syncState,
  webhookInbox: tables.webhookInbox,
};

/** The drizzle instance; `$client` is its postgres.js pool (for the simple protocol, which drizzle does not offer). */
export type Database = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };

export interface CreateDbOptions {
  /** @defaultValue 10 */
  max?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /**
   * Seconds to wait for a connection before failing: short, so that a caller gets a 503 quickly
   * when PostgreSQL is down instead of hanging. @defaultValue 3
   */
  connectTimeoutSeconds?: number;
}

/**
 * The pause before a new connection attempt after failed ones, in seconds. postgres.js's default
 * grows to 20 s (3^n/100) and a waiting query waits for that attempt, so during an outage callers
 * hung for up to 20 s instead of getting their 503 within the connect timeout. Attempts are only
 * made for waiting queries, so a short, bounded pause does not hammer a server that is down.
 */
const RECONNECT_PAUSE_MAX_SECONDS = 0.5;
const reconnectPause = (retries: number) => Math.min(0.05 * 2 ** retries, RECONNECT_PAUSE_MAX_SECONDS);

/** A postgres.js pool and the drizzle instance over it. `close` ends the pool. */
export function createDb(
  url: string,
  options: CreateDbOptions = {},
): { db: Database; sql: postgres.Sql; close(): Promise<void> } {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connect_timeout: options.connectTimeoutSeconds ?? 3,
    backoff: reconnectPause,
    connection: { application_name: options.applicationName ?? 'calgate' },
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
