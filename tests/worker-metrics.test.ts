import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from '@calgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  berlin,
  eventually,
  type Gateway,
  postBooking,
  startGateway,
  testDay,
} from './support/gateway.ts';

const WORKER_MAIN = fileURLToPath(new URL('../services/worker/src/main.ts', import.meta.url));

/**
 * What the child process takes from this one: the search path, and a faked clock when the suite
 * runs under libfaketime (the child must see the same time); nothing else of the shell.
 */
const inherited = () =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => name === 'PATH' || name === 'TZ' || name === 'LD_PRELOAD' || name.startsWith('FAKETIME'),
    ),
  ) as Record<string, string>;

let gw: Gateway;
let worker: ChildProcess;
let metricsUrl: string;
let stderr = '';

/** The worker's metrics are for operators (ADMIN_USERNAME / ADMIN_PASSWORD) only. */
const OPERATOR = { ADMIN_USERNAME: 'operator', ADMIN_PASSWORD: 'operator-password-1' };
const operatorAuth = {
  headers: {
    authorization: `Basic ${Buffer.from(`${OPERATOR.ADMIN_USERNAME}:${OPERATOR.ADMIN_PASSWORD}`).toString('base64')}`,
  },
};

beforeAll(async () => {
  // The API in this process; the worker as its own process, as it is deployed.
  gw = await startGateway({ worker: false });
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = spawn(process.execPath, [WORKER_MAIN], {
    env: {
      ...inherited(),
      ...gw.env,
      HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(port),
      ...OPERATOR,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  worker.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  await eventually(async () => {
    if (worker.exitCode !== null) throw new Error(`the worker exited (${worker.exitCode}): ${stderr}`);
    return (await fetch(metricsUrl, operatorAuth).catch(() => undefined))?.ok === true ? true : undefined;
  }, 60_000);
}, 120_000);

afterAll(async () => {
  if (worker !== undefined && worker.exitCode === null) {
    const exited = once(worker, 'exit');
    worker.kill('SIGTERM');
    await exited;
  }
  await gw?.close();
});

/** The value of the sample of `metric` whose labels include all of `labels`, or undefined. */
function sample(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const labelText = line.slice(metric.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

describe('the worker metrics on WORKER_METRICS_PORT', () => {
  it("serves the jobs it ran and the Cal.com calls they made, in Prometheus' text format", async () => {
    const res = await postBooking(gw, {
      start: berlin(testDay(), '10:00'),
      customer: { name: 'Mo', email: 'mo@example.org' },
    });
    expect(res.statusCode, res.body).toBe(202);
    await eventually(async () => {
      const view = await gw.app.inject({
        method: 'GET',
        url: res.headers.location as string,
        headers: auth(gw.company.token),
      });
      return view.json().status === 'confirmed' ? true : undefined;
    }, 60_000);

    // The worker counts the job after it finished: wait for the scrape to show it.
    const text = await eventually(async () => {
      const body = await (await fetch(metricsUrl, operatorAuth)).text();
      const done = sample(body, 'calgate_jobs_total', {
        queue: 'bookings',
        name: 'booking.create',
        outcome: 'completed',
      });
      return done !== undefined && done >= 1 ? body : undefined;
    }, 30_000);
    const scrape = await fetch(metricsUrl, operatorAuth);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    expect(text).toContain('service="calgate-worker"');
    expect(
      sample(text, 'calgate_job_duration_seconds_count', { queue: 'bookings', name: 'booking.create' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'calgate_calcom_requests_total', { operation: 'bookings.create', status: '201' }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('answers 404 on any other path', async () => {
    expect((await fetch(metricsUrl.replace('/metrics', '/'), operatorAuth)).status).toBe(404);
    expect((await fetch(metricsUrl)).status).toBe(401);
    expect((await fetch(`${metricsUrl}/x`)).status).toBe(404);
  });
});
