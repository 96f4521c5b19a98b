/**
 * Benchmark 8: outbound webhooks. Appointment changes are written to the outbox (two per
 * appointment, so deliveries also keep their order), and the gateway's worker relays, signs and
 * POSTs each to a local receiver (its own process), recording every attempt. The figure is events
 * delivered per second, as a ratio to bare BullMQ no-op jobs in the same run.
 */
import { performance } from 'node:perf_hooks';
import { encryptSecret, parseEncryptionKey } from '@calgate/db';
import type { DemoCompany } from '@calgate/demo';
import { generateSigningSecret } from '@calgate/domain';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type postgres from 'postgres';
import type { Proc } from './procs.ts';

const APPOINTMENTS = 2_000;
const EVENTS = APPOINTMENTS * 2;

export interface OutboundBenchContext {
  sql: postgres.Sql;
  demo: DemoCompany;
  secretsKey: string;
  redisUrl: string;
  runId: string;
  baselinePort: number;
  concurrency: number;
  env: Record<string, string>;
  worker(env: Record<string, string>): Promise<Proc>;
  baseline(mode: string, extra?: Record<string, string>): Promise<Proc>;
  say(line: string): void;
}

export interface OutboundBenchResult {
  events: number;
  seconds: number;
  rate: number;
  baselineSeconds: number;
  baselineRate: number;
  attempts: number;
  delivered: number;
}

/** Counts what is still to deliver, every 100 ms, until nothing is. */
async function drained(sql: postgres.Sql, expected: number): Promise<void> {
  for (;;) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from outbound_deliveries where status = 'delivered'`;
    if ((row?.n ?? 0) >= expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function outboundBench(context: OutboundBenchContext): Promise<OutboundBenchResult> {
  const { sql, demo } = context;
  const receiver = await context.baseline('receiver');
  const service = demo.services[0]?.id as string;
  await sql`
    insert into customers (id, company_id, name, email)
    values ('cus_outbound_bench', ${demo.companyId}, 'Bench', 'outbound-bench@example.org')`;
  await sql`
    insert into appointments (id, company_id, service_id, customer_id, status, starts_at, ends_at, timezone)
    select 'apt_ob' || g, ${demo.companyId}::text, ${service}::text, 'cus_outbound_bench', 'cancelled',
      now() + (g || ' minutes')::interval, now() + (g + 30 || ' minutes')::interval, 'Europe/Berlin'
    from generate_series(1, ${APPOINTMENTS}) g`;
  await sql`
    insert into outbound_endpoints (id, company_id, url, secret_encrypted)
    values ('owe_bench', ${demo.companyId}, ${`http://127.0.0.1:${context.baselinePort}/hooks`},
      ${encryptSecret(generateSigningSecret(), parseEncryptionKey(context.secretsKey))})`;
  const worker = await context.worker({
    ...context.env,
    OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'true',
    OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: '100',
  });
  try {
    const started = performance.now();
    // What `transition()` writes with each change: one outbox row per event, data included.
    await sql`
      insert into outbound_events (id, company_id, appointment_id, type, data)
      select 'evt_ob' || g || '_' || n, ${demo.companyId}::text, 'apt_ob' || g,
        case n when 1 then 'appointment.confirmed' else 'appointment.cancelled' end,
        jsonb_build_object('id', 'apt_ob' || g, 'status', case n when 1 then 'confirmed' else 'cancelled' end,
          'serviceId', ${service}::text, 'start', now(), 'end', now(), 'timeZone', 'Europe/Berlin')
      from generate_series(1, ${APPOINTMENTS}) g, generate_series(1, 2) n
      order by g, n`;
    await drained(sql, EVENTS);
    const seconds = (performance.now() - started) / 1000;
    const [counts] = await sql<{ attempts: number; delivered: number }[]>`
      select (select count(*)::int from outbound_attempts) as attempts,
        (select count(*)::int from outbound_deliveries where status = 'delivered') as delivered`;
    context.say(`8: ${EVENTS} events delivered in ${seconds.toFixed(1)} s`);
    await worker.stop();
    await receiver.stop();

    const base = await context.baseline('noop-worker', { CONCURRENCY: String(context.concurrency) });
    const prefix = `calgate-bench-${context.runId}-base`;
    const connection = new Redis(context.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('noop', { connection, prefix });
    const events = new QueueEvents('noop', {
      connection: new Redis(context.redisUrl, { maxRetriesPerRequest: null }),
      prefix,
    });
    await events.waitUntilReady();
    let done = 0;
    const all = new Promise<void>((resolve) => {
      events.on('completed', () => {
        done++;
        if (done === EVENTS) resolve();
      });
    });
    const t0 = performance.now();
    await queue.addBulk(Array.from({ length: EVENTS }, (_, i) => ({ name: 'noop', data: { i } })));
    await all;
    const baselineSeconds = (performance.now() - t0) / 1000;
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
    await base.stop();
    return {
      events: EVENTS,
      seconds,
      rate: EVENTS / seconds,
      baselineSeconds,
      baselineRate: EVENTS / baselineSeconds,
      attempts: counts?.attempts ?? 0,
      delivered: counts?.delivered ?? 0,
    };
  } finally {
    await worker.stop().catch(() => undefined);
    await receiver.stop().catch(() => undefined);
  }
}
