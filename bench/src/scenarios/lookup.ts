import { lookupBenchmark } from '../lookup.ts';
import { add, fmt, raw } from '../report.ts';
import {
  API_PORT,
  api,
  BASELINE_PORT,
  baseEnv,
  baseline,
  DATABASE_URL,
  database,
  demo,
  LOOKUP_ROWS,
  procs,
  SECONDS,
  say,
  stopAll,
} from '../setup.ts';

export async function appointmentLookup(): Promise<void> {
  say(`8: appointment lookups among ${LOOKUP_ROWS} appointments of one company`);
  const env8 = baseEnv('b8', { PHONE_DEFAULT_REGION: 'DE' });
  procs.push(await api(env8));
  const lookup = await lookupBenchmark({
    databaseUrl: DATABASE_URL,
    db: database.db,
    companyId: demo.companyId,
    serviceIds: demo.services.map((s) => s.id),
    staffIds: demo.staff.map((s) => s.id),
    token: demo.token,
    apiPort: API_PORT,
    rows: LOOKUP_ROWS,
    seconds: SECONDS,
    poolMax: Number(env8.DATABASE_POOL_MAX),
    startBaseline: async (env) => ({ proc: await baseline('lookup-sql', env), port: BASELINE_PORT }),
    stopApi: stopAll,
    say,
  });
  await stopAll();
  raw.lookup = lookup;
  const ratio = lookup.gateway.requestsPerSec / lookup.bare.requestsPerSec;
  add({
    id: 8,
    what: `Find a customer's appointments by phone among ${LOOKUP_ROWS.toLocaleString('en')} of one company, 50 connections`,
    measured:
      `${fmt(lookup.gateway.requestsPerSec, 0)} lookups/s, p99 ${lookup.gateway.p99} ms; one at a time ` +
      `p50 ${fmt(lookup.sequentialMs.p50, 1)} ms, p99 ${fmt(lookup.sequentialMs.p99, 1)} ms; in PostgreSQL ` +
      `p99 ${fmt(lookup.statementMs.p99, 2)} ms`,
    baseline:
      `the same statement sent bare to PostgreSQL ${fmt(lookup.bare.requestsPerSec, 0)} queries/s; ` +
      `behind a bare HTTP route ${fmt(lookup.bareRoute.requestsPerSec, 0)} req/s, p99 ${lookup.bareRoute.p99} ms ` +
      `(gateway = ${fmt(lookup.gateway.requestsPerSec / lookup.bareRoute.requestsPerSec, 2)}x of it)`,
    ratio,
    // The target is the single lookup's time; the ratio shows what HTTP, auth and JSON add.
    target: 'one lookup < 10 ms: PostgreSQL p99 and HTTP p50',
    met: lookup.statementMs.p99 < 10 && lookup.sequentialMs.p50 < 10 && lookup.gateway.non2xx === 0,
  });
}
