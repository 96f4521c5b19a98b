import { PassThrough } from 'node:stream';
import { appointments } from '@calgate/db';
import { createLogger } from '@calgate/telemetry';
import { freePort } from '@calgate/testkit';
import { startWorkerHost } from '@calgate/worker';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDays } from './support/gateway.ts';

// The backlog of issue 17: many bookings on one Cal.com key whose budget is far smaller, with
// LOG_LEVEL=info. The defaults (15 bookings, 10 calls a minute) make a third of the bookings wait
// for the next budget window, about a minute and a half; LOG_BACKLOG_BOOKINGS=300
// LOG_BACKLOG_BUDGET=100 is the issue's scenario (several minutes).
const BOOKINGS = Number(process.env.LOG_BACKLOG_BOOKINGS ?? 15);
const BUDGET = Number(process.env.LOG_BACKLOG_BUDGET ?? 10);
const BYTES_PER_BOOKING = 300;
/** Half-hour starts 09:00-17:30 for two stylists: the salon's capacity for one day. */
const PER_DAY = 36;

interface LogLine {
  level: number;
  msg: string;
  stack?: string;
  err?: { stack?: string };
  [key: string]: unknown;
}

let gw: Gateway | undefined;
let worker: { close(): Promise<void> } | undefined;
afterAll(async () => {
  await worker?.close();
  await gw?.close();
});

function startOf(index: number, days: string[]): { start: string; staff: number } {
  const day = days[Math.floor(index / PER_DAY)] as string;
  const slot = index % PER_DAY;
  const minutes = 9 * 60 + Math.floor(slot / 2) * 30;
  const time = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${minutes % 60 === 0 ? '00' : '30'}`;
  return { start: berlin(day, time), staff: slot % 2 };
}

/** The worker's metrics are for operators only. */
const OPERATOR = { ADMIN_USERNAME: 'operator', ADMIN_PASSWORD: 'operator-password-1' };

async function metric(port: number, name: string): Promise<number> {
  const text = await (
    await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${OPERATOR.ADMIN_USERNAME}:${OPERATOR.ADMIN_PASSWORD}`).toString('base64')}`,
      },
    })
  ).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('a backlog of bookings on one key with a small budget, at LOG_LEVEL=info', () => {
  it(`writes under ${BYTES_PER_BOOKING} log bytes per booking, one confirmed line each, no stack traces`, async () => {
    const stream = new PassThrough();
    let bytes = 0;
    let text = '';
    let counting = false;
    stream.on('data', (chunk: Buffer) => {
      if (!counting) return;
      bytes += chunk.length;
      text += chunk.toString('utf8');
    });
    const metricsPort = await freePort();
    // The worker's own log is measured; the API (and its request log) writes elsewhere.
    gw = await startGateway({
      worker: false,
      env: {
        LOG_LEVEL: 'info',
        CALCOM_RATE_LIMIT_PER_MINUTE: String(BUDGET),
        WORKER_METRICS_PORT: String(metricsPort),
        ...OPERATOR,
      },
    });
    const g = gw;
    worker = await startWorkerHost(
      g.config,
      createLogger({ name: 'worker', level: 'info', destination: stream }),
    );
    const days = testDays(Math.ceil(BOOKINGS / PER_DAY));
    counting = true;
    const ids: string[] = [];
    for (let i = 0; i < BOOKINGS; i++) {
      const { start, staff } = startOf(i, days);
      const response = await g.app.inject({
        method: 'POST',
        url: '/api/v2/bookings',
        headers: auth(g.company.token),
        payload: {
          serviceId: g.company.serviceIds[0],
          start,
          timeZone: 'Europe/Berlin',
          staffId: g.company.staffIds[staff],
          customer: { name: `Customer ${i}`, email: `backlog${i}@example.org` },
        },
      });
      expect(response.statusCode).toBe(202);
      ids.push(response.json().id);
    }
    // A delayed booking may spend a second call (it looks for itself in Cal.com first).
    const windows = Math.ceil((2 * BOOKINGS) / BUDGET) + 1;
    await eventually(
      async () => {
        const rows = await g.database.db
          .select({ status: appointments.status })
          .from(appointments)
          .where(eq(appointments.companyId, g.company.companyId));
        return rows.filter((r) => r.status === 'confirmed').length === BOOKINGS ? true : undefined;
      },
      windows * 70_000 + 30_000,
    );
    // The confirmed line is written right after the row; let the last ones reach the stream.
    await eventually(async () => {
      const confirmed = text.split('\n').filter((l) => l.includes('"booking confirmed"')).length;
      return confirmed >= BOOKINGS ? true : undefined;
    });
    counting = false;

    const perBooking = bytes / BOOKINGS;
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);
    const budgetWaits = await metric(metricsPort, 'calgate_budget_waits_total');
    console.info(
      `log volume: ${BOOKINGS} bookings, budget ${BUDGET}/min: ${bytes} bytes in ${lines.length} lines, ` +
        `${perBooking.toFixed(0)} bytes per booking; ${budgetWaits} budget waits`,
    );

    // The scenario still waits on the budget, and the waits are counted, not logged at info.
    expect(budgetWaits).toBeGreaterThan(0);
    expect(lines.filter((l) => /budget/i.test(l.msg))).toEqual([]);
    expect(perBooking).toBeLessThan(BYTES_PER_BOOKING);
    // One line per booking, carrying the job it came from.
    const confirmed = lines.filter((l) => l.msg === 'booking confirmed');
    expect(new Set(confirmed.map((l) => l.appointmentId))).toEqual(new Set(ids));
    for (const line of confirmed) {
      expect(line).toMatchObject({ queue: 'bookings', jobId: `booking-create-${line.appointmentId}` });
      expect(typeof line.attempt).toBe('number');
    }
    // Nothing here is a bug: no stack traces.
    expect(lines.filter((l) => l.stack !== undefined || l.err?.stack !== undefined)).toEqual([]);
  }, 600_000);
});
