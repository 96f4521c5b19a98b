import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { listFailedJobs, retryFailedJobs } from '@calgate/cli';
import {
  deliveriesResend,
  endpointList,
  endpointRotateSecret,
  endpointSetEnabled,
} from '@calgate/cli/outbound';
import { outboundAttempts, outboundDeliveries, outboundEvents } from '@calgate/db';
import { processRelay, verifyWebhook } from '@calgate/domain';
import { eq, inArray, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from './support/gateway.ts';
import { deliveriesOf, OUTBOUND_ENV, operatorAuth, registerEndpoint } from './support/outbound.ts';
import { type Receiver, startReceiver, typesOf } from './support/receiver.ts';

let gw: Gateway | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  await gw?.close();
  gw = undefined;
  receiver = undefined;
});

async function book(g: Gateway, start: string, staff: number, email: string): Promise<string> {
  const res = await g.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(g.company.token, { prefer: 'wait=20' }),
    payload: {
      serviceId: g.company.serviceIds[0],
      start,
      timeZone: 'Europe/Berlin',
      staffId: g.company.staffIds[staff],
      customer: { name: 'C', email },
    },
  });
  expect(res.statusCode).toBe(201);
  return res.json().id;
}

async function cancel(g: Gateway, id: string): Promise<void> {
  const res = await g.app.inject({
    method: 'DELETE',
    url: `/api/v2/bookings/${id}`,
    headers: auth(g.company.token, { prefer: 'wait=20' }),
  });
  expect(res.statusCode).toBeLessThan(300);
}

async function attemptsOf(g: Gateway, endpointId: string) {
  const deliveries = await deliveriesOf(g, endpointId);
  if (deliveries.length === 0) return [];
  return g.database.db
    .select()
    .from(outboundAttempts)
    .where(
      inArray(
        outboundAttempts.deliveryId,
        deliveries.map((d) => d.id),
      ),
    );
}

describe('an endpoint that is down for a while', () => {
  it('receives every event afterwards exactly once per event id, in order per appointment', async () => {
    gw = await startGateway({
      env: { ...OUTBOUND_ENV, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '300ms,600ms,1s,2s,2s,2s,2s,2s,2s,2s,2s,2s' },
    });
    const g = gw;
    receiver = await startReceiver();
    const endpoint = await registerEndpoint(g, receiver.url);
    await receiver.stop();
    const downSince = Date.now();

    const day = testDay();
    const ids: string[] = [];
    for (const [i, time] of ['09:00', '10:00', '11:00'].entries()) {
      for (const staff of [0, 1])
        ids.push(await book(g, berlin(day, time), staff, `down${i}-${staff}@example.org`));
    }
    for (const id of ids.slice(0, 4)) await cancel(g, id);
    const expected = ids.length + 4;

    // Down long enough that every first attempt and several retries were refused.
    await eventually(async () => {
      const attempts = await attemptsOf(g, endpoint.id);
      return attempts.length >= 8 && Date.now() - downSince > 5_000 ? true : undefined;
    }, 60_000);
    const refused = await attemptsOf(g, endpoint.id);
    expect(refused.every((a) => a.statusCode === null && a.error !== null)).toBe(true);
    expect(refused.map((a) => a.error)).toContain('ECONNREFUSED');
    await receiver.start();

    await eventually(async () => {
      const deliveries = await deliveriesOf(g, endpoint.id);
      return deliveries.length === expected && deliveries.every((d) => d.status === 'delivered')
        ? true
        : undefined;
    }, 90_000);
    const r = receiver;
    expect(r.acknowledged).toHaveLength(expected);
    expect(new Set(r.acknowledged.map((m) => m.id)).size).toBe(expected);
    for (const [i, id] of ids.entries()) {
      expect(typesOf(r, id)).toEqual(
        i < 4 ? ['appointment.confirmed', 'appointment.cancelled'] : ['appointment.confirmed'],
      );
    }
    expect(
      (
        await g.app.inject({
          method: 'GET',
          url: `/api/admin/v1/companies/${g.company.companyId}/webhook-endpoints/${endpoint.id}`,
          headers: operatorAuth(),
        })
      ).json(),
    ).toMatchObject({ enabled: true, failureStreak: 0 });
  }, 150_000);
});

describe('an endpoint failing for a long streak', () => {
  it('is disabled, keeps its events, and sends them in order once an operator re-enables it', async () => {
    gw = await startGateway({
      env: {
        ...OUTBOUND_ENV,
        OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms',
        OUTBOUND_WEBHOOKS_DISABLE_AFTER_FAILURES: '3',
        OUTBOUND_WEBHOOKS_DISABLE_AFTER_HOURS: '0',
      },
    });
    const g = gw;
    receiver = await startReceiver();
    const r = receiver;
    const endpoint = await registerEndpoint(g, r.url);
    const url = `/api/admin/v1/companies/${g.company.companyId}/webhook-endpoints/${endpoint.id}`;
    const read = async () => (await g.app.inject({ method: 'GET', url, headers: operatorAuth() })).json();
    r.setMode('fail');

    const day = testDay();
    const first = await book(g, berlin(day, '09:00'), 0, 'streak@example.org');
    const disabled = await eventually(async () => {
      const view = await read();
      return view.enabled === false ? view : undefined;
    }, 30_000);
    expect(disabled.disabledReason).toMatch(/^3 failed attempts in a row/);
    expect(await attemptsOf(g, endpoint.id)).toHaveLength(3);
    // endpoint:list shows an operator the streak.
    const listed: string[] = [];
    await endpointList({ runtime: g.runtime(), out: (l) => listed.push(l) }, g.company.companyId);
    expect(listed[0]).toContain('\tfailing: 3 attempt(s) in a row\t');
    await cancel(g, first);
    await eventually(
      async () => ((await deliveriesOf(g, endpoint.id)).length === 2 ? true : undefined),
      30_000,
    );
    expect((await deliveriesOf(g, endpoint.id)).every((d) => d.status === 'pending')).toBe(true);

    r.setMode('ok');
    const enabled = await g.app.inject({
      method: 'PATCH',
      url,
      headers: operatorAuth(),
      payload: { enabled: true },
    });
    expect(enabled.json()).toMatchObject({ enabled: true, failureStreak: 0, disabledReason: null });
    await eventually(async () => (typesOf(r, first).length >= 2 ? true : undefined), 30_000);
    expect(typesOf(r, first)).toEqual(['appointment.confirmed', 'appointment.cancelled']);

    // The same through the CLI: disabled by an operator, a change waits, enabled again.
    const ops = { runtime: g.runtime(), out: () => undefined };
    await endpointSetEnabled(ops, endpoint.id, false);
    expect((await read()).disabledReason).toBe('disabled by an operator');
    const second = await book(g, berlin(day, '10:00'), 1, 'later@example.org');
    await eventually(
      async () => ((await deliveriesOf(g, endpoint.id)).length === 3 ? true : undefined),
      30_000,
    );
    await endpointSetEnabled(ops, endpoint.id, true);
    await eventually(async () => (typesOf(r, second).length === 1 ? true : undefined), 30_000);
    expect(r.acknowledged).toHaveLength(3);
  }, 120_000);
});

describe('a delivery whose schedule runs out', () => {
  it('is failed, visible as a failed job, and sent again by the resend command', async () => {
    gw = await startGateway({ env: { ...OUTBOUND_ENV, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '100ms,100ms' } });
    const g = gw;
    receiver = await startReceiver();
    const r = receiver;
    const endpoint = await registerEndpoint(g, r.url);
    r.setMode('fail');
    const id = await book(g, berlin(testDay(), '12:00'), 0, 'resend@example.org');
    const [failed] = await eventually(async () => {
      const rows = await deliveriesOf(g, endpoint.id);
      return rows[0]?.status === 'failed' ? rows : undefined;
    }, 30_000);
    const attempts = await attemptsOf(g, endpoint.id);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.responseExcerpt])).toEqual([
      [1, 500, 'receiver is failing'],
      [2, 500, 'receiver is failing'],
      [3, 500, 'receiver is failing'],
    ]);

    const lines: string[] = [];
    const connection = new Redis(g.config.redis.url, { maxRetriesPerRequest: null });
    try {
      const context = {
        db: g.database.db,
        connection,
        prefix: g.config.redis.queuePrefix,
        out: (l: string) => lines.push(l),
      };
      // The row says failed as the last attempt ends; BullMQ files the job as failed just after.
      await eventually(async () => {
        lines.length = 0;
        return (await listFailedJobs(context, 'outbound')) === 1 ? true : undefined;
      });
      expect(lines.join('\n')).toContain(`outbound-deliver-${failed?.id}-r0`);
    } finally {
      await connection.quit();
    }

    r.setMode('ok');
    expect(
      await deliveriesResend({ runtime: g.runtime(), out: () => undefined }, { endpointId: endpoint.id }),
    ).toBe(1);
    // Recorded once the receiver answered: wait for the row, then look at what arrived.
    await eventually(async () =>
      (await deliveriesOf(g, endpoint.id))[0]?.status === 'delivered' ? true : undefined,
    );
    expect(typesOf(r, id)).toHaveLength(1);
    const [again] = await g.database.db
      .select()
      .from(outboundDeliveries)
      .where(eq(outboundDeliveries.id, failed?.id as string));
    expect(again).toMatchObject({ status: 'delivered', round: 1 });
  }, 60_000);

  it('is sent once more when its failed job is retried (the dashboard retry)', async () => {
    gw = await startGateway({ env: { ...OUTBOUND_ENV, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '100ms' } });
    const g = gw;
    receiver = await startReceiver();
    const r = receiver;
    const endpoint = await registerEndpoint(g, r.url);
    r.setMode('fail');
    const id = await book(g, berlin(testDay(), '14:00'), 1, 'retry@example.org');
    await eventually(
      async () => ((await deliveriesOf(g, endpoint.id))[0]?.status === 'failed' ? true : undefined),
      30_000,
    );
    r.setMode('ok');
    const connection = new Redis(g.config.redis.url, { maxRetriesPerRequest: null });
    try {
      const context = {
        db: g.database.db,
        connection,
        prefix: g.config.redis.queuePrefix,
        out: () => undefined,
      };
      // The row says failed as the last attempt ends; BullMQ files the job as failed just after.
      await eventually(async () => ((await listFailedJobs(context, 'outbound')) === 1 ? true : undefined));
      expect(await retryFailedJobs(context, { queue: 'outbound' })).toBe(1);
    } finally {
      await connection.quit();
    }
    await eventually(
      async () => ((await deliveriesOf(g, endpoint.id))[0]?.status === 'delivered' ? true : undefined),
      30_000,
    );
    expect(typesOf(r, id)).toEqual(['appointment.confirmed']);
    expect((await attemptsOf(g, endpoint.id)).map((a) => a.statusCode)).toEqual([500, 500, 200]);
  }, 60_000);

  it("waits at least the receiver's Retry-After before the next attempt", async () => {
    gw = await startGateway({ env: { ...OUTBOUND_ENV, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '100ms,100ms' } });
    const g = gw;
    receiver = await startReceiver();
    const r = receiver;
    const endpoint = await registerEndpoint(g, r.url);
    r.setMode('busy');
    const id = await book(g, berlin(testDay(), '15:00'), 0, 'busy@example.org');
    await eventually(async () => ((await attemptsOf(g, endpoint.id)).length >= 1 ? true : undefined), 30_000);
    r.setMode('ok');
    // The attempt is recorded after the receiver answered: wait for its row, not for the receiver.
    await eventually(async () =>
      (await attemptsOf(g, endpoint.id)).some((a) => a.statusCode === 200) ? true : undefined,
    );
    expect(typesOf(r, id)).toHaveLength(1);
    const [busy, ok] = (await attemptsOf(g, endpoint.id)).sort((a, b) => a.attempt - b.attempt);
    expect(busy?.statusCode).toBe(503);
    expect(ok?.statusCode).toBe(200);
    // Scheduled 100 ms later, but the receiver asked for 2 s.
    expect((ok?.createdAt.getTime() ?? 0) - (busy?.createdAt.getTime() ?? 0)).toBeGreaterThanOrEqual(1_900);
  }, 60_000);

  it('disables the endpoint at once when the receiver answers 410 Gone', async () => {
    gw = await startGateway({ env: { ...OUTBOUND_ENV, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '100ms,100ms' } });
    const g = gw;
    receiver = await startReceiver();
    const endpoint = await registerEndpoint(g, receiver.url);
    receiver.setMode('gone');
    await book(g, berlin(testDay(), '13:00'), 1, 'gone@example.org');
    const url = `/api/admin/v1/companies/${g.company.companyId}/webhook-endpoints/${endpoint.id}`;
    const view = await eventually(async () => {
      const body = (await g.app.inject({ method: 'GET', url, headers: operatorAuth() })).json();
      return body.enabled === false ? body : undefined;
    }, 30_000);
    expect(view.disabledReason).toContain('410');
    expect(await attemptsOf(g, endpoint.id)).toHaveLength(1);
  }, 60_000);
});

describe('two relay runs that overlap', () => {
  it('send the events of an appointment in order: the second run leaves them to the first', async () => {
    gw = await startGateway({ env: { ...OUTBOUND_ENV, OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: '60000' } });
    const g = gw;
    receiver = await startReceiver();
    const r = receiver;
    const endpoint = await registerEndpoint(g, r.url);
    const runtime = g.runtime();
    // The test makes the runs itself, as the scheduler does when a slow run is still going (it adds
    // the next run when one starts, and the outbound worker runs jobs concurrently). So the
    // schedule is removed, and the run it started with is waited out.
    const outbound = runtime.queues.queue('outbound');
    await outbound.removeJobScheduler('outbound-relay');
    await eventually(async () => {
      const jobs = await outbound.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
      return jobs.some((job) => job?.name === 'outbound.relay') ? undefined : true;
    }, 30_000);

    const id = await book(g, berlin(testDay(), '10:00'), 0, 'order@example.org');
    const [confirmed] = await g.database.db
      .select()
      .from(outboundEvents)
      .where(eq(outboundEvents.appointmentId, id));
    expect(confirmed?.relayedAt).toBeNull();

    // Run A picks the confirmed event and is slow to commit, as with a large batch: here it waits
    // on the unique key of the delivery it inserts, held by a transaction without foreign-key
    // checks (one would lock the event row run A must pick).
    let release: () => void = () => undefined;
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const blocker = g.database.db
      .transaction(async (tx) => {
        await tx.execute(sql`set local session_replication_role = replica`);
        await tx.execute(sql`insert into outbound_deliveries (id, event_id, endpoint_id, appointment_id, event_seq)
          values ('dlv_blocker', ${confirmed?.id ?? ''}, ${endpoint.id}, ${id}, ${confirmed?.seq ?? 0})`);
        locked();
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        tx.rollback();
      })
      .catch(() => undefined);
    await isLocked;
    const runA = processRelay(runtime);
    await eventually(async () => {
      const waiting = await g.database.db.execute(sql`select 1 from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query like '%from picked p%'`);
      return waiting.length > 0 ? true : undefined;
    }, 30_000);

    // Meanwhile the appointment is cancelled and run B, the next one, relays what it can.
    await cancel(g, id);
    await processRelay(runtime);
    await eventually(
      async () =>
        (await deliveriesOf(g, endpoint.id)).every((d) => d.status !== 'pending') ? true : undefined,
      30_000,
    );

    release();
    await blocker;
    await runA;
    // The next run once run A's delivery is recorded: a run meanwhile would make the cancellation
    // wait for the fallback delay (the confirmation's job looked for a next event before it existed).
    await eventually(async () => {
      const rows = await deliveriesOf(g, endpoint.id);
      return rows.length > 0 && rows.every((d) => d.status !== 'pending') ? true : undefined;
    }, 30_000);
    await processRelay(runtime);
    await eventually(async () => (typesOf(r, id).length >= 2 ? true : undefined), 30_000);
    expect(typesOf(r, id)).toEqual(['appointment.confirmed', 'appointment.cancelled']);
  }, 90_000);
});

describe('a receiver whose 2xx answer holds a NUL byte', () => {
  it('gets the event once, and the attempt is recorded as delivered', async () => {
    gw = await startGateway({
      env: { ...OUTBOUND_ENV, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '100ms,100ms,100ms' },
    });
    const g = gw;
    const received: string[] = [];
    // A binary or UTF-16 answer, or a C string's terminator: PostgreSQL text cannot hold U+0000.
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received.push(String(request.headers['webhook-id']));
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\u0000done');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const endpoint = await registerEndpoint(g, `http://127.0.0.1:${port}/hooks`);
      await book(g, berlin(testDay(), '09:00'), 0, 'nul@example.org');
      const [delivery] = await eventually(async () => {
        const rows = await deliveriesOf(g, endpoint.id);
        return rows[0] !== undefined && rows[0].status !== 'pending' ? rows : undefined;
      }, 30_000);
      const attempts = await attemptsOf(g, endpoint.id);
      expect({ status: delivery?.status, received: received.length, attempts: attempts.length }).toEqual({
        status: 'delivered',
        received: 1,
        attempts: 1,
      });
      expect(attempts[0]?.responseExcerpt).toBe('ok\uFFFDdone');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});

describe('what outbound deliveries log', () => {
  it('ids, status and latency, never the personal data or the signing secret', async () => {
    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString('utf8');
        done();
      },
    });
    gw = await startGateway({
      env: { ...OUTBOUND_ENV, LOG_LEVEL: 'debug', OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '100ms,100ms' },
      logDestination: sink,
    });
    const g = gw;
    receiver = await startReceiver();
    const r = receiver;
    const endpoint = await registerEndpoint(g, r.url);
    r.setMode('fail');
    const res = await g.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(g.company.token, { prefer: 'wait=20' }),
      payload: {
        serviceId: g.company.serviceIds[0],
        start: berlin(testDay(), '16:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Priya Secretname', email: 'priya.private@example.org', phone: '+4915112345678' },
        notes: 'allergic to ammonia',
      },
    });
    expect(res.statusCode).toBe(201);
    await eventually(
      async () => ((await deliveriesOf(g, endpoint.id))[0]?.status === 'failed' ? true : undefined),
      30_000,
    );
    expect(logged).toContain('outbound webhook attempt');
    expect(logged).toContain('outbound webhook delivery failed for good');
    for (const secret of [
      'Priya Secretname',
      'priya.private@example.org',
      '+4915112345678',
      'allergic',
      endpoint.secret.slice(6),
    ])
      expect(logged).not.toContain(secret);
  }, 60_000);
});

describe('what a secret rotation logs and lists', () => {
  it('neither the new nor the previous secret: not in logs, the admin API or the CLI listing', async () => {
    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString('utf8');
        done();
      },
    });
    gw = await startGateway({ env: { ...OUTBOUND_ENV, LOG_LEVEL: 'debug' }, logDestination: sink });
    const g = gw;
    receiver = await startReceiver();
    const r = receiver;
    const first = await registerEndpoint(g, r.url);
    const base = `/api/admin/v1/companies/${g.company.companyId}/webhook-endpoints`;
    const rotated = await g.app.inject({
      method: 'POST',
      url: `${base}/${first.id}/rotate-secret`,
      headers: operatorAuth(),
      payload: { overlapHours: 2 },
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const second = rotated.json().secret as string;
    const printed: string[] = [];
    const ops = { runtime: g.runtime(), out: (l: string) => printed.push(l) };
    await endpointRotateSecret(ops, first.id, undefined);
    const third = printed.at(-1)?.split(': ')[1] as string;
    expect(third).toMatch(/^whsec_/);
    const secrets = [first.secret, second, third].map((s) => s.slice(6));
    // The CLI prints only the new secret, once.
    expect(printed.filter((l) => l.includes(third.slice(6)))).toHaveLength(1);
    expect(secrets.filter((s) => printed.join('\n').includes(s))).toEqual([third.slice(6)]);

    const id = await book(g, berlin(testDay(), '16:00'), 0, 'rotation-logs@example.org');
    const message = await eventually(async () => r.acknowledged.find((m) => m.event.data.id === id), 30_000);
    expect(verifyWebhook(third, message.headers, message.body)).toBe(true);
    expect(verifyWebhook(second, message.headers, message.body)).toBe(true);
    await eventually(async () => {
      const deliveries = await deliveriesOf(g, first.id);
      return deliveries.length > 0 && deliveries.every((d) => d.status === 'delivered') ? true : undefined;
    }, 30_000);

    const listed: string[] = [];
    await endpointList({ runtime: g.runtime(), out: (l: string) => listed.push(l) }, g.company.companyId);
    const outputs = [
      logged,
      listed.join('\n'),
      (await g.app.inject({ method: 'GET', url: base, headers: operatorAuth() })).body,
      (await g.app.inject({ method: 'GET', url: `${base}/${first.id}`, headers: operatorAuth() })).body,
    ];
    expect(logged).toContain('webhook endpoint signing secret rotated');
    expect(logged).toContain('outbound webhook attempt');
    expect(listed.join('\n')).toContain(first.id);
    for (const output of outputs) expect(secrets.filter((s) => output.includes(s))).toEqual([]);
  }, 60_000);
});
