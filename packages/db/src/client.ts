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

export type Database = PostgresJsDatabase<typeof schema>;

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

/** A postgres.js pool and the drizzle instance over it. `close` ends the pool. */
export function createDb(
  url: string,
  options: CreateDbOptions = {},
): { db: Database; sql: postgres.Sql; close(): Promise<void> } {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connect_timeout: options.connectTimeoutSeconds ?? 3,
    connection: { application_name: options.applicationName ?? 'calgate' },
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
