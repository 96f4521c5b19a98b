/**
 * What every benchmark shares: the settings (from the environment), the sandbox, the benchmark
 * database with the demo company, and how the gateway's processes and the baselines are started.
 * Importing this module sets all of that up (the database `calgate_bench` is dropped and recreated).
 */
import { randomBytes } from 'node:crypto';
import { createDb, ensureDatabase, runMigrations } from '@calgate/db';
import { seedDemoCompany } from '@calgate/demo';
import { DEMO_API_KEY, startSandbox } from '@calgate/sandbox';
import { salonTime, testDays } from '@calgate/testkit';
import { Redis } from 'ioredis';
import { type Proc, start } from './procs.ts';

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
export const BUDGET = Number(process.env.BENCH_BUDGET ?? 600);
export const LOOKUP_ROWS = Number(process.env.BENCH_LOOKUP_ROWS ?? 1_000_000);
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/calgate_bench';
export const API_PORT = 3901;
export const BASELINE_PORT = 3902;
export const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789';
/** Worker concurrency of the gateway and of the no-op baseline alike (BENCH_CONCURRENCY). */
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
/** BENCH_ONLY=1,2 runs a subset (for profiling); the report then holds only those rows. */
export const ONLY = process.env.BENCH_ONLY?.split(',').map(Number);
export const only = (id: number) => ONLY === undefined || ONLY.includes(id);
export const say = (line: string) => process.stdout.write(`[bench] ${line}\n`);

export const sandbox = await startSandbox({ port: 0, rateLimitPerMinute: 1_000_000 });
{
  const admin = createDb(DATABASE_URL.replace(/\/[^/]+$/, '/postgres'), { max: 1 });
  await admin.sql.unsafe('drop database if exists calgate_bench with (force)');
  await admin.close();
}
await ensureDatabase(DATABASE_URL);
await runMigrations(DATABASE_URL);
export const database = createDb(DATABASE_URL, { max: 4 });
export const demo = await seedDemoCompany(database.db);
export const haircut = demo.services.find((s) => s.kind === 'simple')?.id as string;
export const composite = demo.services.find((s) => s.kind === 'composite')?.id as string;
export const runId = Date.now().toString(36);
export const secretsKey = randomBytes(32).toString('hex');
export const baseEnv = (prefix: string, extra: Record<string, string> = {}): Record<string, string> => ({
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  DATABASE_URL,
  REDIS_URL,
  QUEUE_PREFIX: `calgate-bench-${runId}-${prefix}`,
  SECRETS_ENCRYPTION_KEY: secretsKey,
  CALCOM_BASE_URL: sandbox.baseUrl,
  CALCOM_API_KEY: DEMO_API_KEY,
  CALCOM_WEBHOOK_SECRET: WEBHOOK_SECRET,
  CALCOM_RATE_LIMIT_PER_MINUTE: '1000000',
  // The benchmarks measure the gateway, not our per-company limit.
  API_RATE_LIMIT_PER_MINUTE: '1000000',
  API_RATE_LIMIT_BURST: '1000000',
  DATABASE_POOL_MAX: process.env.BENCH_POOL ?? '20',
  // A full run takes a few hundred distinct days from the allocator (no two benchmarks share one).
  AVAILABILITY_MAX_DAYS_AHEAD: '3650',
  EVENT_TYPE_SYNC_INTERVAL_MINUTES: '0',
  RECONCILE_INTERVAL_MINUTES: '0',
  WORKER_CONCURRENCY: String(CONCURRENCY),
  HOST: '127.0.0.1',
  PORT: String(API_PORT),
  ...extra,
});
// BENCH_PROFILE=<dir>: the API writes a CPU profile there when it stops.
// BENCH_NODE_OPTIONS: extra flags for the services (e.g. heap limits) to compare memory.
/** The services' heap limits as shipped in .env.example (NODE_OPTIONS); BENCH_NODE_OPTIONS overrides. */
const SHIPPED_NODE_OPTIONS = '--max-semi-space-size=8 --max-old-space-size=160';
const nodeOptions = [
  process.env.BENCH_NODE_OPTIONS ?? SHIPPED_NODE_OPTIONS,
  process.env.BENCH_PROFILE === undefined
    ? undefined
    : `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE}`,
]
  .filter((o) => o !== undefined)
  .join(' ');
const profile: Record<string, string> = nodeOptions === '' ? {} : { NODE_OPTIONS: nodeOptions };
export const api = (env: Record<string, string>) =>
  start(
    'services/api/src/main.ts',
    { ...env, ...profile },
    { url: `http://127.0.0.1:${API_PORT}/health/ready` },
  );
// The worker says it is ready at info level.
export const worker = (env: Record<string, string>) =>
  start('services/worker/src/main.ts', { ...env, ...profile, LOG_LEVEL: 'info' }, { line: /worker ready/ });
export const baseline = (mode: string, extra: Record<string, string> = {}) =>
  start(
    'bench/src/baseline.ts',
    {
      BASELINE_MODE: mode,
      PORT: String(BASELINE_PORT),
      REDIS_URL,
      QUEUE_PREFIX: `calgate-bench-${runId}-base`,
      ...extra,
    },
    { line: /ready/ },
  );
export const auth = { authorization: `Bearer ${demo.token}` };

/** `count` distinct (staff, start) pairs: half-hour starts 09:00-17:30 Berlin, every stylist. */
export function slots(count: number): Array<{ staffId: string; start: string }> {
  const perDay = 18 * demo.staff.length;
  const out: Array<{ staffId: string; start: string }> = [];
  for (const day of testDays(Math.ceil(count / perDay))) {
    for (let i = 0; i < 18; i++) {
      const hh = String(9 + Math.floor(i / 2)).padStart(2, '0');
      const mm = i % 2 === 0 ? '00' : '30';
      for (const member of demo.staff) {
        if (out.length < count) out.push({ staffId: member.id, start: salonTime(day, `${hh}:${mm}`) });
      }
    }
  }
  return out;
}
export async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${API_PORT}/api/v2/bookings`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { id?: string } };
}
/**
 * How many of `ids` have an outcome. Polled while a benchmark runs, so it costs this process as
 * little as the floor's poll: one array parameter (not a statement of 2,000 parameters built anew).
 */
export async function confirmedCount(ids: string[]): Promise<number> {
  const [row] = await database.sql<{ n: number }[]>`
    select count(*)::int as n from appointments
    where id = any(${ids}::text[]) and status in ('confirmed', 'failed')`;
  return row?.n ?? 0;
}
/**
 * Evidence for benchmark 3: the same 2,000 bookings through the least a durable pipeline must do
 * (two processes like ours; a row and a job, then the Cal.com call and the outcome's UPDATE).
 */

/** The processes the running benchmark started; `stopAll` stops them. */
export const procs: Proc[] = [];
export const stopAll = async () => {
  await Promise.all(procs.map((p) => p.stop()));
  procs.length = 0;
};

/** Leaves Redis as it was: every key this run made (its jobs, caches, budgets) goes. */
export async function removeRunKeys(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `calgate-bench-${runId}-*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
