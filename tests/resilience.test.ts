import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { keyFingerprint } from '@calgate/calcom';
import { reconcileNow } from '@calgate/cli/operations';
import { appointments } from '@calgate/db';
import { DEMO_API_KEY, type SandboxEventType } from '@calgate/sandbox';
import { Queue } from 'bullmq';
import { and, eq, inArray, isNotNull } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auth,
  berlin,
  EMPTY_BOOKINGS_LIST,
  eventually,
  type Gateway,
  queuesSettled,
  startGateway,
  testDay,
} from './support/gateway.ts';

const WORKER_MAIN = fileURLToPath(new URL('../services/worker/src/main.ts', import.meta.url));
const API_MAIN = fileURLToPath(new URL('../services/api/src/main.ts', import.meta.url));
const demoKey = keyFingerprint(DEMO_API_KEY);

let gw: Gateway | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await gw?.close();
  gw = undefined;
});

function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [WORKER_MAIN], { env: { ...process.env, ...env }, stdio: 'ignore' });
  children.push(child);
  return child;
}

async function request(
  g: Gateway,
  start: string,
  staffId: string,
  email: string,
  headers: Record<string, string> = {},
) {
  return g.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(g.company.token, headers),
    payload: {
      serviceId: g.company.serviceIds[0],
      start,
      timeZone: 'Europe/Berlin',
      staffId,
      customer: { name: 'C', email },
    },
  });
}

async function statusOf(g: Gateway, id: string): Promise<string | undefined> {
  const [row] = await g.database.db
    .select({ status: appointments.status })
    .from(appointments)
    .where(eq(appointments.id, id));
  return row?.status;
}

async function failedJobs(g: Gateway): Promise<number> {
  const connection = new Redis(g.config.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue('bookings', { connection, prefix: g.config.redis.queuePrefix });
  const count = await queue.getJobCountByTypes('failed');
  await queue.close();
  await connection.quit();
  return count;
}

describe('when Cal.com answers 429', () => {
  it('pauses the key until the reset and completes every booking without a failed job', async () => {
    gw = await startGateway({ sandbox: { rateLimitPerMinute: 2, rateLimitBlockSeconds: 2 } });
    const g = gw;
    const day = testDay();
    const ids: string[] = [];
    for (const [i, time] of ['09:00', '09:30', '10:00', '10:30'].entries()) {
      ids.push(
        (await request(g, berlin(day, time), g.company.staffIds[0] as string, `c${i}@example.org`)).json().id,
      );
    }
    await eventually(async () =>
      (await Promise.all(ids.map((id) => statusOf(g, id)))).every((s) => s === 'confirmed')
        ? true
        : undefined,
    );
    const log = g.sandbox.control.requests();
    expect(log.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(1);
    // A throttled create was never handled: its job comes back and sends, without looking in
    // Cal.com first for a booking it cannot have made (such lookups used up each fresh window).
    expect(log.filter((r) => r.method === 'GET')).toEqual([]);
    expect(await failedJobs(g)).toBe(0);
    expect(g.sandbox.control.bookings().filter((b) => b.status === 'accepted')).toHaveLength(4);
  });
});

describe('the per-key budget', () => {
  it('holds across two worker processes: never more than the limit per minute', async () => {
    gw = await startGateway({ worker: false, env: { CALCOM_RATE_LIMIT_PER_MINUTE: '10' } });
    const g = gw;
    const started = Date.now();
    spawnWorker(g.env);
    spawnWorker(g.env);
    const day = testDay();
    const times = Array.from(
      { length: 15 },
      (_, i) => `${String(9 + Math.floor(i / 2)).padStart(2, '0')}:${i % 2 === 0 ? '00' : '30'}`,
    );
    for (const [i, time] of times.entries()) {
      await request(g, berlin(day, time), g.company.staffIds[0] as string, `a${i}@example.org`);
      await request(g, berlin(day, time), g.company.staffIds[1] as string, `b${i}@example.org`);
    }
    // Both workers race for 30 jobs; the shared budget lets exactly 10 calls through this minute
    // and puts the other 20 jobs back, delayed to the next free slot: wait for exactly that state.
    const connection = new Redis(g.config.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('bookings', { connection, prefix: g.config.redis.queuePrefix });
    try {
      await eventually(async () => {
        const { completed, delayed, waiting, active, prioritized } = await queue.getJobCounts(
          'completed',
          'delayed',
          'waiting',
          'active',
          'prioritized',
        );
        const busy = (waiting ?? 0) + (active ?? 0) + (prioritized ?? 0);
        return completed === 10 && delayed === 20 && busy === 0 ? true : undefined;
      });
      // A job put back for the budget sent nothing: it must not keep the at-most-once marker, or
      // each later run would spend a Cal.com lookup (and its turn) before trying its send again.
      const putBack = await queue.getDelayed();
      expect(putBack).toHaveLength(20);
      const marked = await g.database.db
        .select({ id: appointments.id })
        .from(appointments)
        .where(
          and(
            inArray(
              appointments.id,
              putBack.map((job) => job.data.appointmentId as string),
            ),
            isNotNull(appointments.bookingSentAt),
          ),
        );
      expect(marked).toEqual([]);
      // The ten that were sent kept theirs.
      const sent = await g.database.db
        .select({ id: appointments.id })
        .from(appointments)
        .where(and(eq(appointments.status, 'confirmed'), isNotNull(appointments.bookingSentAt)));
      expect(sent).toHaveLength(10);
    } finally {
      await queue.close();
      await connection.quit();
    }
    const calls = g.sandbox.control.requests(started).filter((r) => r.keyFingerprint === demoKey);
    expect(calls).toHaveLength(10);
    expect(calls.every((r) => r.status < 400)).toBe(true);
    expect(await failedJobs(g)).toBe(0);
  });
});

describe('a worker killed after Cal.com accepted a booking but before we recorded it', () => {
  it('ends with exactly one booking, adopted by the next worker', async () => {
    gw = await startGateway({ worker: false, env: { WORKER_LOCK_DURATION_MS: '2000' } });
    const g = gw;
    const doomed = spawnWorker(g.env);
    // Cal.com books at once but its answer takes 5 s: the worker dies while waiting for it.
    g.sandbox.control.injectFault({ operation: 'bookings.create', afterEffect: true, latencyMs: 5_000 });
    const res = await request(
      g,
      berlin(testDay(), '11:00'),
      g.company.staffIds[0] as string,
      'kill@example.org',
    );
    const id = res.json().id as string;
    await eventually(async () =>
      g.sandbox.control.bookings().some((b) => b.metadata.calgateId === id) ? true : undefined,
    );
    doomed.kill('SIGKILL');
    await new Promise((resolve) => doomed.once('exit', resolve));
    expect(await statusOf(g, id)).toBe('pending');
    spawnWorker(g.env);
    await eventually(async () => ((await statusOf(g, id)) === 'confirmed' ? true : undefined));
    const mine = g.sandbox.control.bookings().filter((b) => b.metadata.calgateId === id);
    expect(mine).toHaveLength(1);
    const view = (
      await g.app.inject({ method: 'GET', url: `/api/v2/bookings/${id}`, headers: auth(g.company.token) })
    ).json();
    expect(view.calcom.bookingUid).toBe(mine[0]?.uid);
    expect(view.history.find((h: { event: string }) => h.event === 'confirmed').data.adopted).toBe(true);
  });

  it('adopts a booking whose answer was lost (502 after Cal.com made it) instead of booking twice', async () => {
    gw = await startGateway();
    const g = gw;
    g.sandbox.control.injectFault({ operation: 'bookings.create', status: 502, afterEffect: true });
    const res = await request(
      g,
      berlin(testDay(), '12:00'),
      g.company.staffIds[1] as string,
      'lost@example.org',
      { prefer: 'wait=15' },
    );
    expect(res.statusCode).toBe(201);
    const id = res.json().id as string;
    expect(g.sandbox.control.bookings().filter((b) => b.metadata.calgateId === id)).toHaveLength(1);
  });
});

describe('a booking cancelled while its create is in flight, whose answer never comes', () => {
  it('is cancelled in Cal.com too when Cal.com made it after the cancel looked for it', async () => {
    gw = await startGateway({ env: { CALCOM_TIMEOUT: '3' } });
    const g = gw;
    // Cal.com books at once but never answers in time: the create's outcome is unknown to us.
    g.sandbox.control.injectFault({ operation: 'bookings.create', afterEffect: true, latencyMs: 60_000 });
    const res = await request(
      g,
      berlin(testDay(), '15:00'),
      g.company.staffIds[0] as string,
      'late@example.org',
    );
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const mine = () => g.sandbox.control.bookings().filter((b) => b.metadata.calgateId === id);
    await eventually(async () => (mine().length === 1 ? true : undefined));
    // The cancel's lookup does not see the booking yet (Cal.com had not written it when asked).
    g.sandbox.control.injectFault({
      operation: 'bookings.list',
      status: 200,
      body: EMPTY_BOOKINGS_LIST,
    });
    const cancelled = await g.app.inject({
      method: 'DELETE',
      url: `/api/v2/bookings/${id}`,
      headers: auth(g.company.token, { prefer: 'wait=10' }),
      payload: { cancellationReason: 'changed my mind' },
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    // The create's next attempt finds the booking its lost answer made, cancels it there too, and
    // records it (after the cancel in Cal.com: waited for last).
    const view = await eventually(async () => {
      const read = await g.app.inject({
        method: 'GET',
        url: `/api/v2/bookings/${id}`,
        headers: auth(g.company.token),
      });
      const body = read.json() as {
        status: string;
        calcom: { bookingUid: string | null };
        history: Array<{ event: string; data: unknown }>;
      };
      return body.calcom.bookingUid === null ? undefined : body;
    });
    expect(mine()).toHaveLength(1);
    expect(mine()[0]?.status).toBe('cancelled');
    expect(view.status).toBe('cancelled');
    expect(view.calcom.bookingUid).toBe(mine()[0]?.uid);
    // Recorded for an operator: the uid above, and why it was cancelled after the appointment.
    expect(view.history.at(-1)).toMatchObject({
      event: 'cancelled',
      data: { uid: mine()[0]?.uid, reason: 'booked in Cal.com after the cancel: cancelled there too' },
    });
    expect(await failedJobs(g)).toBe(0);
  });

  it.each([
    { made: 'accepted', policy: undefined },
    // An event type that needs the host's confirmation: Cal.com's request to the host blocks the slot too.
    { made: 'pending', policy: { type: 'always', blockUnconfirmedBookingsInBooker: true } as const },
  ])(
    'is cancelled by reconciliation when Cal.com made it ($made) after every lookup',
    async ({ made, policy }) => {
      gw = await startGateway({ env: { CALCOM_TIMEOUT: '3' } });
      const g = gw;
      const eventType = (g.sandbox.control.state().eventTypes as SandboxEventType[]).find(
        (e) => e.id === 103,
      );
      g.sandbox.control.addEventType({ ...(eventType as SandboxEventType), confirmationPolicy: policy });
      g.sandbox.control.injectFault({ operation: 'bookings.create', afterEffect: true, latencyMs: 60_000 });
      const res = await request(
        g,
        berlin(testDay(), '16:00'),
        g.company.staffIds[1] as string,
        'later@example.org',
      );
      const id = res.json().id as string;
      const mine = () => g.sandbox.control.bookings().filter((b) => b.metadata.calgateId === id);
      await eventually(async () => (mine().length === 1 ? true : undefined));
      expect(mine()[0]?.status).toBe(made);
      // Neither the cancel's lookup nor the create's retry sees the booking yet.
      g.sandbox.control.injectFault({
        operation: 'bookings.list',
        status: 200,
        body: EMPTY_BOOKINGS_LIST,
        count: 2,
      });
      const cancelled = await g.app.inject({
        method: 'DELETE',
        url: `/api/v2/bookings/${id}`,
        headers: auth(g.company.token, { prefer: 'wait=10' }),
      });
      expect(cancelled.json().status).toBe('cancelled');
      await queuesSettled(g);
      expect(g.sandbox.control.requests().filter((r) => r.operation === 'bookings.list')).toHaveLength(2);
      expect(mine()[0]?.status).toBe(made);
      // Cal.com's list (a reconciliation run, or its webhook) shows it: it is cancelled there too.
      expect(await reconcileNow({ runtime: g.runtime(), out: () => undefined }, g.company.companyId)).toBe(0);
      expect(mine()[0]?.status).toBe('cancelled');
      const [row] = await g.database.db.select().from(appointments).where(eq(appointments.id, id));
      expect(row).toMatchObject({ status: 'cancelled', calcomBookingUid: mine()[0]?.uid });
    },
  );
});

describe('configuration', () => {
  it('stops a service with a message naming each bad variable, never echoing a value', async () => {
    const child = spawn(process.execPath, [API_MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: 'mysql://nope',
        REDIS_URL: 'redis://127.0.0.1:6379',
        SECRETS_ENCRYPTION_KEY: 'short-secret-value',
        CALCOM_DEBUG: 'maybe',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    for (const name of ['DATABASE_URL', 'SECRETS_ENCRYPTION_KEY', 'CALCOM_DEBUG'])
      expect(stderr).toContain(name);
    expect(stderr).not.toContain('short-secret-value');
  });
});
