/**
 * Benchmark 8: finding appointments (GET /api/v2/bookings?customerPhone=) among LOOKUP_ROWS
 * appointments of one company, against the same statement sent bare to PostgreSQL in the same run.
 */
import { performance } from 'node:perf_hooks';
import { createDb, type Database } from '@calgate/db';
import { findAppointmentsQuery } from '@calgate/domain';
import { bulkPhone, insertBulkAppointments, pool } from '@calgate/testkit';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { LoadResult } from './load.ts';
import { load, type Proc } from './procs.ts';

export interface LookupBenchInput {
  databaseUrl: string;
  db: Database;
  companyId: string;
  serviceIds: string[];
  staffIds: string[];
  token: string;
  apiPort: number;
  /** Appointments of the company (BENCH_LOOKUP_ROWS, default 1,000,000). */
  rows: number;
  seconds: number;
  /** The API's pool size: the bare queries get as many connections. */
  poolMax: number;
  /** Starts the `lookup-sql` baseline route (same port scheme as the other baselines). */
  startBaseline(env: Record<string, string>): Promise<{ proc: Proc; port: number }>;
  /** Stops the API before the baselines run, so they do not share the machine with it. */
  stopApi(): Promise<void>;
  say(line: string): void;
}

export interface LookupBenchResult {
  rows: number;
  populateSeconds: number;
  /** EXPLAIN ANALYZE execution times of the lookup statement, ms. */
  statementMs: { p50: number; p99: number; max: number };
  /** One lookup at a time over HTTP, ms. */
  sequentialMs: { p50: number; p99: number };
  gateway: LoadResult;
  /** The statement in a loop in the benchmark process, no HTTP. */
  bare: { requestsPerSec: number; requests: number };
  /** The statement behind a bare Fastify route, loaded like the gateway. */
  bareRoute: LoadResult;
}

const CUSTOMERS_PER_APPOINTMENT = 10;
const CONNECTIONS = 50;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;

export async function lookupBenchmark(input: LookupBenchInput): Promise<LookupBenchResult> {
  const customers = Math.max(1, Math.floor(input.rows / CUSTOMERS_PER_APPOINTMENT));
  const started = performance.now();
  const loader = createDb(input.databaseUrl, { max: 1 });
  await insertBulkAppointments(loader.sql, {
    companyId: input.companyId,
    serviceIds: input.serviceIds,
    staffIds: input.staffIds,
    appointments: input.rows,
    customers,
    // Two years around now: a caller's lookup sees past and upcoming appointments alike.
    from: new Date(Date.now() - 365 * 86_400_000),
    spanDays: 730,
    tag: 'lookup',
    rebuildIndexes: true,
  });
  await loader.close();
  const populateSeconds = (performance.now() - started) / 1000;
  input.say(`8: ${input.rows} appointments of one company written in ${populateSeconds.toFixed(0)} s`);

  // Customers are picked all over the table, so no lookup finds its rows cached by the previous one.
  const picks = Array.from({ length: 1_000 }, (_, i) => 1 + ((i * 7_919) % customers));
  const phones = picks.map((n) => bulkPhone('lookup', n));

  const statementMs: number[] = [];
  for (const phone of phones.slice(0, 200)) {
    const { query } = findAppointmentsQuery(input.companyId, { customerPhone: phone }, 'DE');
    const [row] = await input.db.execute<{ 'QUERY PLAN': Array<{ 'Execution Time': number }> }>(
      sql`explain (analyze, format json) ${query}`,
    );
    statementMs.push(row?.['QUERY PLAN'][0]?.['Execution Time'] ?? Number.NaN);
  }
  statementMs.sort((a, b) => a - b);

  const base = `http://127.0.0.1:${input.apiPort}/api/v2/bookings?customerPhone=`;
  const headers = { authorization: `Bearer ${input.token}` };
  const sequential: number[] = [];
  for (const phone of phones.slice(200, 400)) {
    const t = performance.now();
    const res = await fetch(`${base}${encodeURIComponent(phone)}`, { headers });
    const body = (await res.json()) as { appointments?: unknown[] };
    if (res.status !== 200 || (body.appointments?.length ?? 0) === 0) {
      throw new Error(`lookup answered ${res.status} with ${body.appointments?.length ?? 0} appointments`);
    }
    sequential.push(performance.now() - t);
  }
  sequential.sort((a, b) => a - b);

  const paths = phones.map((phone) => `/api/v2/bookings?customerPhone=${encodeURIComponent(phone)}`);
  const spec = {
    url: `http://127.0.0.1:${input.apiPort}/api/v2/bookings`,
    connections: CONNECTIONS,
    method: 'GET' as const,
    headers,
    paths,
  };
  await load({ ...spec, durationSeconds: 2 });
  const gateway = await load({ ...spec, durationSeconds: input.seconds });
  await input.stopApi();

  const bareRoute = await bareRouteLoad(input, phones, headers);
  const bare = await bareQueries(input, phones);
  return {
    rows: input.rows,
    populateSeconds,
    statementMs: {
      p50: percentile(statementMs, 0.5),
      p99: percentile(statementMs, 0.99),
      max: statementMs.at(-1) as number,
    },
    sequentialMs: { p50: percentile(sequential, 0.5), p99: percentile(sequential, 0.99) },
    gateway,
    bare,
    bareRoute,
  };
}

/** The same statement behind a bare HTTP route, under the same load: what HTTP itself costs here. */
async function bareRouteLoad(
  input: LookupBenchInput,
  phones: string[],
  headers: Record<string, string>,
): Promise<LoadResult> {
  const sample = phones[0] as string;
  const { sql: text, params } = new PgDialect().sqlToQuery(
    findAppointmentsQuery(input.companyId, { customerPhone: sample }, 'DE').query as SQL,
  );
  const { proc, port } = await input.startBaseline({
    DATABASE_URL: input.databaseUrl,
    DATABASE_POOL_MAX: String(input.poolMax),
    LOOKUP_STATEMENT: JSON.stringify({ sql: text, params, phoneIndex: params.indexOf(sample) }),
  });
  try {
    const spec = {
      url: `http://127.0.0.1:${port}/bookings`,
      connections: CONNECTIONS,
      method: 'GET' as const,
      headers,
      paths: phones.map((phone) => `/bookings?customerPhone=${encodeURIComponent(phone)}`),
    };
    await load({ ...spec, durationSeconds: 2 });
    return await load({ ...spec, durationSeconds: input.seconds });
  } finally {
    await proc.stop();
  }
}

/**
 * The baseline: the lookup's own statement (same joins, same parameters) sent straight to
 * PostgreSQL as a prepared statement, CONNECTIONS at a time over the API's pool size, for as long
 * as the gateway was loaded. What remains between the two is the gateway's own work.
 */
async function bareQueries(
  input: LookupBenchInput,
  phones: string[],
): Promise<{ requestsPerSec: number; requests: number }> {
  const dialect = new PgDialect();
  const statements = phones.map((phone) =>
    dialect.sqlToQuery(findAppointmentsQuery(input.companyId, { customerPhone: phone }, 'DE').query as SQL),
  );
  const { sql: client, close } = createDb(input.databaseUrl, { max: input.poolMax });
  try {
    const run = async (deadline: number) => {
      let done = 0;
      await pool(
        CONNECTIONS,
        Array.from({ length: CONNECTIONS }, (_, lane) => async () => {
          for (let i = lane; performance.now() < deadline; i += CONNECTIONS) {
            const statement = statements[i % statements.length] as { sql: string; params: unknown[] };
            await client.unsafe(statement.sql, statement.params as never[], { prepare: true });
            done++;
          }
        }),
      );
      return done;
    };
    await run(performance.now() + 2_000);
    const started = performance.now();
    const requests = await run(started + input.seconds * 1000);
    return { requestsPerSec: requests / ((performance.now() - started) / 1000), requests };
  } finally {
    await close();
  }
}
