import { outboundBench } from '../outbound.ts';
import { add, fmt, raw } from '../report.ts';
import {
  BASELINE_PORT,
  baseEnv,
  baseline,
  CONCURRENCY,
  database,
  demo,
  REDIS_URL,
  runId,
  say,
  secretsKey,
  worker,
} from '../setup.ts';

export async function outboundWebhooks(): Promise<void> {
  say('9: outbound webhooks delivered to a local receiver');
  const result = await outboundBench({
    sql: database.sql,
    demo,
    secretsKey,
    redisUrl: REDIS_URL,
    runId,
    baselinePort: BASELINE_PORT,
    concurrency: CONCURRENCY,
    env: baseEnv('b8'),
    worker,
    baseline,
    say,
  });
  raw.outboundWebhooks = result;
  add({
    id: 9,
    what: `Outbound webhooks delivered (${result.events} events, 2 per appointment in order, signed, each attempt recorded; local receiver; concurrency ${CONCURRENCY})`,
    measured: `${fmt(result.rate)} events/s (${result.delivered} delivered in ${result.attempts} attempts)`,
    baseline: `BullMQ no-op jobs ${fmt(result.baselineRate)} jobs/s`,
    ratio: result.rate / result.baselineRate,
    target: 'every event delivered exactly once; the ratio is reported (the issue sets none)',
    met: result.delivered === result.events && result.attempts === result.events,
  });
}
