import { type ChildProcess, spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { signCalcomPayload } from '@calgate/calcom';
import { appointments } from '@calgate/db';
import { freePort, scanKeys } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from './support/gateway.ts';

// What .env.example promises about each setting, checked against the running gateway.
const API_MAIN = fileURLToPath(new URL('../services/api/src/main.ts', import.meta.url));

let gw: Gateway | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await gw?.close();
  gw = undefined;
});

function capture() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  return { stream, lines };
}

async function book(g: Gateway, time: string, email = 'priya.raman@example.org') {
  const response = await g.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(g.company.token),
    payload: {
      serviceId: g.company.serviceIds[0],
      start: berlin(testDay(), time),
      timeZone: 'Europe/Berlin',
      staffId: g.company.staffIds[0],
      customer: { name: 'Priya Raman', email, phone: '+4915112345678' },
    },
  });
  expect(response.statusCode).toBe(202);
  return response.json().id as string;
}

async function statusOf(g: Gateway, id: string): Promise<string | undefined> {
  const [row] = await g.database.db
    .select({ status: appointments.status })
    .from(appointments)
    .where(eq(appointments.id, id));
  return row?.status;
}

describe('CALCOM_DEBUG', () => {
  it('logs the Cal.com exchanges at LOG_LEVEL=info, with personal data redacted', async () => {
    const { stream, lines } = capture();
    gw = await startGateway({ logDestination: stream, env: { LOG_LEVEL: 'info', CALCOM_DEBUG: 'true' } });
    const g = gw;
    const id = await book(g, '10:00');
    await eventually(async () => ((await statusOf(g, id)) === 'confirmed' ? true : undefined), 30_000);
    await eventually(async () => (lines.some((l) => l.msg === 'calcom response') ? true : undefined));
    const request = lines.find((l) => l.msg === 'calcom request' && l.operation === 'bookings.create');
    expect(request).toBeDefined();
    const text = JSON.stringify(lines);
    // The exchange is logged; the customer's email in it is not, not even masked (issue 16).
    expect((request?.body as { attendee?: { email?: string } } | undefined)?.attendee?.email).toBe(
      '[personal]',
    );
    expect(text).not.toContain('priya.raman@');
    expect(text).not.toContain('Priya');
    expect(text).not.toContain('4915112345678');
    expect(text).not.toContain(g.env.CALCOM_API_KEY);
  });

  it('logs no Cal.com exchange at LOG_LEVEL=info without it', async () => {
    const { stream, lines } = capture();
    gw = await startGateway({ logDestination: stream, env: { LOG_LEVEL: 'info', CALCOM_DEBUG: 'false' } });
    const g = gw;
    const id = await book(g, '11:00');
    await eventually(async () => ((await statusOf(g, id)) === 'confirmed' ? true : undefined), 30_000);
    await eventually(async () => (lines.some((l) => l.msg === 'booking confirmed') ? true : undefined));
    expect(lines.filter((l) => String(l.msg).startsWith('calcom'))).toEqual([]);
  });
});

describe('CALCOM_MAX_RETRIES', () => {
  it('makes a retryable failure cost MAX_RETRIES + 1 attempts, then fails the booking', async () => {
    gw = await startGateway({ env: { CALCOM_MAX_RETRIES: '1' } });
    const g = gw;
    g.sandbox.control.injectFault({ operation: 'bookings.create', status: 503, count: 100 });
    const id = await book(g, '12:00');
    await eventually(async () => ((await statusOf(g, id)) === 'failed' ? true : undefined), 30_000);
    const creates = g.sandbox.control.requests().filter((r) => r.operation === 'bookings.create');
    expect(creates.map((r) => r.status)).toEqual([503, 503]);
  });
});

describe('without CALCOM_WEBHOOK_SECRET', () => {
  it('warns at startup that deliveries to the default route answer 401, and they do', async () => {
    const { stream, lines } = capture();
    gw = await startGateway({
      logDestination: stream,
      env: { LOG_LEVEL: 'warn', CALCOM_WEBHOOK_SECRET: '' },
    });
    const warning = lines.find((l) => String(l.msg).startsWith('CALCOM_WEBHOOK_SECRET is not set'));
    expect(warning?.msg).toMatch(/POST \/api\/webhooks\/calcom will be answered 401/);
    const body = JSON.stringify({ triggerEvent: 'BOOKING_CREATED', payload: { uid: 'x' } });
    const response = await gw.app.inject({
      method: 'POST',
      url: '/api/webhooks/calcom',
      headers: { 'content-type': 'application/json', 'x-cal-signature-256': signCalcomPayload(body, '') },
      payload: body,
    });
    expect(response.statusCode).toBe(401);
  });

  it('the API process says so in its startup log', async () => {
    gw = await startGateway({ worker: false });
    const env = { ...gw.env, CALCOM_WEBHOOK_SECRET: '', LOG_LEVEL: 'info', PORT: String(await freePort()) };
    const child = spawn(process.execPath, [API_MAIN], { env: { ...process.env, ...env } });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    await eventually(async () => (output.includes('Server listening') ? true : undefined), 60_000);
    expect(output).toMatch(/"level":40.*CALCOM_WEBHOOK_SECRET is not set: every Cal.com delivery/);
  }, 90_000);
});

describe('QUEUE_PREFIX', () => {
  it('puts every queue key in Redis under the prefix', async () => {
    gw = await startGateway();
    const g = gw;
    const id = await book(g, '13:00');
    await eventually(async () => ((await statusOf(g, id)) === 'confirmed' ? true : undefined), 30_000);
    const redis = new Redis(g.config.redis.url);
    const prefix = g.env.QUEUE_PREFIX as string;
    const keys = await scanKeys(redis, `${prefix}:bookings:*`);
    await redis.quit();
    expect(keys).toContain(`${prefix}:bookings:booking-create-${id}`);
  });
});

describe('EVENT_TYPE_SYNC_INTERVAL_MINUTES and RECONCILE_INTERVAL_MINUTES', () => {
  it('schedule the syncs every so many minutes, and 0 turns a schedule off', async () => {
    gw = await startGateway({
      env: { EVENT_TYPE_SYNC_INTERVAL_MINUTES: '0', RECONCILE_INTERVAL_MINUTES: '7' },
    });
    const sync = gw.runtime().queues.queue('sync');
    const schedulers = await sync.getJobSchedulers();
    const every = Object.fromEntries(schedulers.map((s) => [s.key, s.every]));
    expect(every['sync-reconcile']).toBe(7 * 60_000);
    expect(every).not.toHaveProperty('sync-event-types');
    expect(every['maintenance-sweep']).toBe(gw.config.worker.sweepIntervalMs);
  });
});
