/** Benchmark 3: 2,000 simple bookings accepted -> confirmed, against BullMQ no-op jobs and the minimal durable pipeline. */
import { performance } from 'node:perf_hooks';
import { appointments } from '@calgate/db';
import { DEMO_API_KEY } from '@calgate/sandbox';
import { pool } from '@calgate/testkit';
import { Queue, QueueEvents } from 'bullmq';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { beginCpu, perItem, totalCpu } from '../cpu.ts';
import { start } from '../procs.ts';
import { add, fmt, memory, raw } from '../report.ts';
import {
  api,
  BASELINE_PORT,
  baseEnv,
  baseline,
  CONCURRENCY,
  confirmedCount,
  DATABASE_URL,
  database,
  demo,
  haircut,
  post,
  procs,
  REDIS_URL,
  runId,
  sandbox,
  say,
  slots,
  stopAll,
  worker,
} from '../setup.ts';

export async function bookingsEndToEnd(): Promise<void> {
  say('3: 2,000 simple bookings end to end');

  const env = baseEnv('b3');
  const a = await api(env);
  procs.push(a);
  const w = await worker(env);
  procs.push(w);
  const targets = slots(2_000);
  const cpu = beginCpu({ api: a.child.pid, worker: w.child.pid });
  const started = performance.now();
  const ids = (
    await pool(
      50,
      targets.map((slot, i) => async () => {
        const res = await post({
          serviceId: haircut,
          staffId: slot.staffId,
          start: slot.start,
          timeZone: 'Europe/Berlin',
          customer: { name: 'Bench', email: `bench-${i}@example.org` },
        });
        return res.json.id as string;
      }),
    )
  ).filter((id) => id !== undefined);
  const intakeSeconds = (performance.now() - started) / 1000;
  while ((await confirmedCount(ids)) < ids.length) await new Promise((resolve) => setTimeout(resolve, 100));
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = cpu.end();
  say(`3: all ${ids.length} accepted after ${fmt(intakeSeconds)} s, all confirmed after ${fmt(seconds)} s`);
  memory.apiDuringBookings = a.peakRssMb();
  memory.workerDuringBookings = w.peakRssMb();
  const [confirmed] = await database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(appointments)
    .where(and(inArray(appointments.id, ids), eq(appointments.status, 'confirmed')));
  await stopAll();

  const b = await baseline('noop-worker', { CONCURRENCY: String(CONCURRENCY) });
  procs.push(b);
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix: `calgate-bench-${runId}-base` });
  const events = new QueueEvents('noop', {
    connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
    prefix: `calgate-bench-${runId}-base`,
  });
  await events.waitUntilReady();
  let done = 0;
  const all = new Promise<void>((resolve) => {
    events.on('completed', () => {
      done++;
      if (done === 2_000) resolve();
    });
  });
  const t0 = performance.now();
  await queue.addBulk(Array.from({ length: 2_000 }, (_, i) => ({ name: 'noop', data: { i } })));
  await all;
  const baseSeconds = (performance.now() - t0) / 1000;
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  await stopAll();
  const floor = await bookingFloor(env);
  const rate = ids.length / seconds;
  const baseRate = 2_000 / baseSeconds;
  raw.bookings = {
    bookings: ids.length,
    confirmed: confirmed?.n,
    intakeSeconds,
    seconds,
    baselineSeconds: baseSeconds,
    floor,
    cpuMs,
  };
  say(`3: CPU ms per booking: gateway ${perItem(cpuMs, ids.length)}; floor ${perItem(floor.cpuMs, 2_000)}`);
  add({
    id: 3,
    what: `Simple bookings accepted -> confirmed (${ids.length}, sandbox 0 ms, no limit, concurrency ${CONCURRENCY})`,
    measured: `${fmt(rate)} bookings/s (${confirmed?.n} confirmed); CPU per booking, all processes: ${fmt(totalCpu(cpuMs) / ids.length, 2)} ms against the pipeline's ${fmt(totalCpu(floor.cpuMs) / 2_000, 2)} ms`,
    baseline: `BullMQ no-op jobs ${fmt(baseRate)} jobs/s; the minimal durable pipeline (one INSERT + Queue.add, then one Cal.com call + one UPDATE) ${fmt(floor.rate)} bookings/s = ${fmt(floor.rate / baseRate, 2)}x (gateway = ${fmt(rate / floor.rate, 2)}x of it)`,
    ratio: rate / baseRate,
    target: '>= 0.15x; >= 0.6x of the minimal durable pipeline',
    met: rate / baseRate >= 0.15 && rate / floor.rate >= 0.6 && confirmed?.n === ids.length,
  });
}

/**
 * Evidence for benchmark 3: the same 2,000 bookings through the least a durable pipeline must do
 * (two processes like ours; a row and a job, then the Cal.com call and the outcome's UPDATE).
 */
async function bookingFloor(
  env: Record<string, string>,
): Promise<{ rate: number; seconds: number; confirmed: number; cpuMs: Record<string, number> }> {
  await database.sql.unsafe(
    'create table if not exists floor_bookings (id text primary key, status text not null, uid text, payload jsonb not null)',
  );
  const common = {
    REDIS_URL,
    QUEUE_PREFIX: `calgate-bench-${runId}-floor`,
    DATABASE_URL,
    DATABASE_POOL_MAX: env.DATABASE_POOL_MAX as string,
  };
  const intake = await start(
    'bench/src/baseline.ts',
    { ...common, BASELINE_MODE: 'floor-intake', PORT: String(BASELINE_PORT) },
    { line: /ready/ },
  );
  procs.push(intake);
  const floorWorker = await start(
    'bench/src/baseline.ts',
    {
      ...common,
      BASELINE_MODE: 'floor-worker',
      CONCURRENCY: String(CONCURRENCY),
      CALCOM_BASE_URL: sandbox.baseUrl,
      CALCOM_API_KEY: DEMO_API_KEY,
    },
    { line: /ready/ },
  );
  procs.push(floorWorker);
  const eventTypes = new Map(demo.staff.map((member, i) => [member.id, 102 + i]));
  const cpu = beginCpu({ api: intake.child.pid, worker: floorWorker.child.pid });
  const started = performance.now();
  await pool(
    50,
    slots(2_000).map((slot, i) => async () => {
      await fetch(`http://127.0.0.1:${BASELINE_PORT}/bookings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          eventTypeId: eventTypes.get(slot.staffId),
          start: slot.start,
          email: `floor-${i}@example.org`,
        }),
      }).then((res) => res.arrayBuffer());
    }),
  );
  const count = async () =>
    Number(
      (await database.sql`select count(*)::int as n from floor_bookings where status <> 'pending'`)[0]?.n,
    );
  while ((await count()) < 2_000) await new Promise((resolve) => setTimeout(resolve, 100));
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = cpu.end();
  const confirmed = Number(
    (await database.sql`select count(*)::int as n from floor_bookings where status = 'confirmed'`)[0]?.n,
  );
  await stopAll();
  return { rate: 2_000 / seconds, seconds, confirmed, cpuMs };
}
