/** Benchmark 4: how much of the Cal.com budget a backlog uses, with zero 429s. */
import { pool } from '@calgate/testkit';
import { add, fmt, raw } from '../report.ts';
import {
  api,
  BUDGET,
  baseEnv,
  confirmedCount,
  haircut,
  post,
  procs,
  sandbox,
  say,
  slots,
  stopAll,
  worker,
} from '../setup.ts';

export async function budgetUnderBacklog(): Promise<void> {
  say(`4: budget use under backlog (L = ${BUDGET}/min, 100 ms latency; about 2.5 minutes)`);

  sandbox.control.setLatency(100);
  sandbox.control.setRateLimit(BUDGET, 60);
  const env = baseEnv('b4', { CALCOM_RATE_LIMIT_PER_MINUTE: String(BUDGET) });
  const a = await api(env);
  procs.push(a);
  const targets = slots(Math.ceil(BUDGET * 2.4));
  const ids = (
    await pool(
      50,
      targets.map(
        (slot, i) => async () =>
          (
            await post({
              serviceId: haircut,
              staffId: slot.staffId,
              start: slot.start,
              timeZone: 'Europe/Berlin',
              customer: { name: 'Backlog', email: `backlog-${i}@example.org` },
            })
          ).json.id as string,
      ),
    )
  ).filter((id) => id !== undefined);
  const since = Date.now();
  const w = await worker(env);
  procs.push(w);
  await new Promise((resolve) => setTimeout(resolve, 125_000));
  const calls = sandbox.control.requests(since).filter((r) => r.keyFingerprint !== null);
  const first = Math.min(...calls.map((c) => c.at));
  const window = calls.filter((c) => c.at >= first && c.at < first + 120_000);
  const perMinute = window.length / 2;
  const throttled = calls.filter((c) => c.status === 429).length;
  while ((await confirmedCount(ids)) < ids.length) await new Promise((resolve) => setTimeout(resolve, 500));
  await stopAll();
  sandbox.control.setLatency(0);
  sandbox.control.setRateLimit(1_000_000, 60);
  raw.budget = {
    limitPerMinute: BUDGET,
    queued: ids.length,
    callsInFirstTwoMinutes: window.length,
    throttled,
  };
  add({
    id: 4,
    what: `Budget use under backlog (${ids.length} queued, L = ${BUDGET}/min, 100 ms latency)`,
    measured: `${fmt(perMinute, 0)} Cal.com requests/min, ${throttled} x 429`,
    baseline: `L = ${BUDGET}/min`,
    ratio: perMinute / BUDGET,
    target: '>= 0.95 L with zero 429s',
    met: perMinute >= 0.95 * BUDGET && throttled === 0,
  });
}
