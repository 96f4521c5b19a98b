import { registerWebhooksNow } from '@calgate/cli/operations';
import { appointments } from '@calgate/db';
import { QUEUE_NAMES } from '@calgate/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, startGateway, testDays } from '../support/gateway.ts';
import { checkConsistency, drain, pool, report } from './support.ts';

/** The gateway's budget per key and minute: the run needs more Cal.com calls than one minute allows. */
const BUDGET = 100;

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({
    listen: true,
    env: {
      CALCOM_RATE_LIMIT_PER_MINUTE: String(BUDGET),
      CALCOM_TIMEOUT: '1',
      CALCOM_MAX_RETRIES: '6',
      COMPENSATION_ATTEMPTS: '50',
      WORKER_CONCURRENCY: '10',
      SWEEP_INTERVAL_SECONDS: '5',
    },
  });
  expect(await registerWebhooksNow({ runtime: gw.runtime(), out: () => undefined })).toBe(0);
});
afterAll(async () => {
  await gw.close();
});

describe('scenario 2: fault storm', () => {
  it('20% 5xx, 10% 429, 5% timeouts, 10% dropped webhooks: all terminal and consistent, budget kept', async () => {
    // Faults are tried in order, so the later probabilities are conditional on the earlier misses.
    gw.sandbox.control.injectFault({ operation: '*', status: 503, probability: 0.2 });
    gw.sandbox.control.injectFault({
      operation: '*',
      status: 429,
      probability: 0.1 / 0.8,
      headers: { 'x-ratelimit-reset-default': '1' },
    });
    gw.sandbox.control.injectFault({ operation: '*', timeout: true, probability: 0.05 / 0.7 });
    gw.sandbox.control.setWebhookDrop({ probability: 0.1 });

    const simpleDays = testDays(8);
    const compositeDays = testDays(10);
    const requests = [
      ...Array.from({ length: 40 }, (_, i) => ({
        serviceId: gw.company.serviceIds[0] as string,
        start: berlin(
          simpleDays[Math.floor(i / 10)] as string,
          `${String(9 + Math.floor((i % 10) / 2)).padStart(2, '0')}:${i % 2 === 0 ? '00' : '30'}`,
        ),
      })),
      ...Array.from({ length: 10 }, (_, i) => ({
        serviceId: gw.company.serviceIds[1] as string,
        start: berlin(compositeDays[Math.floor(i / 2)] as string, i % 2 === 0 ? '09:00' : '13:00'),
      })),
    ];
    const since = Date.now();
    const answers: Record<string, number> = {};
    await pool(
      10,
      requests.map((r, i) => async () => {
        const res = await gw.app.inject({
          method: 'POST',
          url: '/api/v2/bookings',
          headers: auth(gw.company.token, { 'idempotency-key': `fault-${i}` }),
          payload: {
            ...r,
            timeZone: 'Europe/Berlin',
            customer: { name: 'Faulty', email: `fault-${i}@example.org` },
          },
        });
        answers[res.statusCode] = (answers[res.statusCode] ?? 0) + 1;
      }),
    );
    await drain(gw, 280_000);
    const durationMs = Date.now() - since;
    gw.sandbox.control.clearFaults();

    const calls = gw.sandbox.control.requests(since).filter((r) => r.keyFingerprint !== null);
    const times = calls.map((c) => c.at).sort((a, b) => a - b);
    let maxPerMinute = 0;
    let densest = 0;
    for (let start = 0, end = 0; end < times.length; end++) {
      while ((times[end] as number) - (times[start] as number) >= 60_000) start++;
      if (end - start + 1 > maxPerMinute) {
        maxPerMinute = end - start + 1;
        densest = times[start] as number;
      }
    }
    const inDensest = calls.filter((c) => c.at >= densest && c.at < densest + 60_000);
    const densestByStatus: Record<string, number> = {};
    for (const c of inDensest)
      densestByStatus[`${c.operation} ${c.status}`] =
        (densestByStatus[`${c.operation} ${c.status}`] ?? 0) + 1;
    const injected = {
      '5xx': calls.filter((c) => c.status === 503).length,
      '429': calls.filter((c) => c.status === 429).length,
      timeouts: calls.filter((c) => c.status === 0).length,
    };
    const deliveries = gw.sandbox.control.state().deliveries as Array<{ dropped: boolean }>;
    const failedJobs = (
      await Promise.all(QUEUE_NAMES.map((name) => gw.runtime().queues.queue(name).getFailed(0, 1_000)))
    ).flat();
    const failedBy429 = failedJobs.filter((j) => /RATE_LIMIT|429/.test(j.failedReason ?? ''));
    const rows = await gw.database.db.select({ code: appointments.failureCode }).from(appointments);
    const consistency = await checkConsistency(gw);
    report('fault-storm', {
      requests: requests.length,
      answers,
      calcomCalls: calls.length,
      injected,
      webhooks: deliveries.length,
      webhooksDropped: deliveries.filter((d) => d.dropped).length,
      budgetPerMinute: BUDGET,
      maxCallsInAnyMinute: maxPerMinute,
      densestMinute: densestByStatus,
      byStatus: consistency.byStatus,
      failureCodes: rows.reduce<Record<string, number>>((acc, r) => {
        if (r.code !== null) acc[r.code] = (acc[r.code] ?? 0) + 1;
        return acc;
      }, {}),
      jobsFailedBy429: failedBy429.length,
      orphans: consistency.orphans.length,
      duplicates: consistency.duplicates.length,
      missing: consistency.missing.length,
      durationMs,
    });
    // Composite intake asks Cal.com for availability while the caller waits: under the storm some
    // of those answers are a retryable 429 / 503 / 504 (nothing recorded), never anything else.
    expect(Object.keys(answers).every((status) => ['202', '429', '503', '504'].includes(status))).toBe(true);
    expect(consistency.appointments).toBe(answers[202]);
    expect(injected['5xx']).toBeGreaterThan(0);
    expect(injected['429']).toBeGreaterThan(0);
    expect(injected.timeouts).toBeGreaterThan(0);
    expect(consistency.notTerminal).toBe(0);
    expect(consistency.orphans).toEqual([]);
    expect(consistency.duplicates).toEqual([]);
    expect(consistency.missing).toEqual([]);
    expect(failedBy429).toEqual([]);
    expect(rows.filter((r) => r.code === 'RATE_LIMIT_EXCEEDED')).toEqual([]);
    expect(maxPerMinute).toBeLessThanOrEqual(BUDGET);
  });
});
