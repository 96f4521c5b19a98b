import { load } from '../procs.ts';
import { add, fmt, memory, raw } from '../report.ts';
import {
  API_PORT,
  api,
  BASELINE_PORT,
  baseEnv,
  baseline,
  DATABASE_URL,
  database,
  procs,
  SECONDS,
  say,
  stopAll,
  WEBHOOK_SECRET,
} from '../setup.ts';

export async function webhookIntake(): Promise<void> {
  say('1: webhook intake');

  const env1 = baseEnv('b1');
  const a = await api(env1);
  procs.push(a);
  const spec = {
    connections: 50,
    durationSeconds: SECONDS,
    method: 'POST' as const,
    body: { kind: 'webhook' as const, secret: WEBHOOK_SECRET, eventTypeId: 102 },
  };
  await load({ ...spec, url: `http://127.0.0.1:${API_PORT}/api/webhooks/calcom`, durationSeconds: 2 });
  const gateway = await load({ ...spec, url: `http://127.0.0.1:${API_PORT}/api/webhooks/calcom` });
  memory.apiDuringWebhooks = a.peakRssMb();
  await stopAll();
  // No worker ran: the deliveries stay in the inbox, and a later benchmark's worker would sweep
  // and process tens of thousands of them while it is being measured. They were only load.
  const stored = await database.sql`delete from webhook_inbox`;
  await database.sql`vacuum analyze webhook_inbox`;
  say(`removed the ${stored.count} synthetic deliveries benchmark 1 stored`);
  const b = await baseline('queue-add');
  procs.push(b);
  await load({ ...spec, url: `http://127.0.0.1:${BASELINE_PORT}/hook`, durationSeconds: 2 });
  const base = await load({ ...spec, url: `http://127.0.0.1:${BASELINE_PORT}/hook` });
  await stopAll();
  // Not a target, evidence: the same route plus the one durable PostgreSQL commit we must make.
  const f = await baseline('inbox-insert', {
    DATABASE_URL,
    DATABASE_POOL_MAX: env1.DATABASE_POOL_MAX as string,
  });
  procs.push(f);
  await load({ ...spec, url: `http://127.0.0.1:${BASELINE_PORT}/hook`, durationSeconds: 2 });
  const floor = await load({ ...spec, url: `http://127.0.0.1:${BASELINE_PORT}/hook` });
  await stopAll();
  raw.webhookIntake = { gateway, baseline: base, durableFloor: floor };
  const ratio = gateway.requestsPerSec / base.requestsPerSec;
  add({
    id: 1,
    what: 'Webhook intake (verify + inbox + enqueue + 200), 50 connections',
    measured: `${fmt(gateway.requestsPerSec, 0)} req/s, p99 ${gateway.p99} ms (${gateway.non2xx} non-2xx)`,
    baseline: `bare Queue.add route ${fmt(base.requestsPerSec, 0)} req/s, p99 ${base.p99} ms; with the inbox INSERT (durable floor) ${fmt(floor.requestsPerSec, 0)} req/s, p99 ${floor.p99} ms (gateway = ${fmt(gateway.requestsPerSec / floor.requestsPerSec, 2)}x of it)`,
    ratio,
    target: '>= 0.7x, p99 <= 25 ms',
    met: ratio >= 0.7 && gateway.p99 <= 25 && gateway.non2xx === 0,
  });
}
