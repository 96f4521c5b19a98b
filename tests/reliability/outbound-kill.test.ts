import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { appointments, outboundEvents } from '@calgate/db';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from '../support/gateway.ts';
import { deliveriesOf, OUTBOUND_ENV, registerEndpoint } from '../support/outbound.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';

const WORKER_MAIN = fileURLToPath(new URL('../../services/worker/src/main.ts', import.meta.url));

let gw: Gateway | undefined;
let receiver: Receiver | undefined;
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await receiver?.close();
  await gw?.close();
});

function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [WORKER_MAIN], { env: { ...process.env, ...env }, stdio: 'ignore' });
  children.push(child);
  return child;
}

describe('a worker SIGKILLed between appointment changes and their delivery', () => {
  it('loses no event: the next worker delivers every one, in order per appointment', async () => {
    gw = await startGateway({
      worker: false,
      env: {
        ...OUTBOUND_ENV,
        WORKER_LOCK_DURATION_MS: '2000',
        OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '500ms,1s,2s,2s,2s,2s,2s,2s',
      },
    });
    const g = gw;
    receiver = await startReceiver();
    const r = receiver;
    const endpoint = await registerEndpoint(g, r.url);
    // The receiver takes the first deliveries and never answers them: they are in flight when
    // the worker dies.
    r.setMode('hold');
    const doomed = spawnWorker(g.env);

    const day = testDay();
    const ids: string[] = [];
    for (const time of ['09:00', '10:00', '11:00']) {
      for (const staff of [0, 1]) {
        const res = await g.app.inject({
          method: 'POST',
          url: '/api/v2/bookings',
          headers: auth(g.company.token),
          payload: {
            serviceId: g.company.serviceIds[0],
            start: berlin(day, time),
            timeZone: 'Europe/Berlin',
            staffId: g.company.staffIds[staff],
            customer: { name: 'K', email: `kill-${time.replace(':', '')}-${staff}@example.org` },
          },
        });
        expect(res.statusCode, res.body).toBe(202);
        ids.push(res.json().id);
      }
    }
    const statusOf = async (id: string) =>
      (await g.database.db.select().from(appointments).where(eq(appointments.id, id)))[0]?.status;
    await eventually(
      async () => ((await Promise.all(ids.map(statusOf))).every((s) => s === 'confirmed') ? true : undefined),
      60_000,
    );
    for (const id of ids.slice(0, 3)) {
      await g.app.inject({ method: 'DELETE', url: `/api/v2/bookings/${id}`, headers: auth(g.company.token) });
    }
    await eventually(
      async () =>
        (await Promise.all(ids.slice(0, 3).map(statusOf))).every((s) => s === 'cancelled') && r.arrivals() > 0
          ? true
          : undefined,
      60_000,
    );
    doomed.kill('SIGKILL');
    await new Promise((resolve) => doomed.once('exit', resolve));
    const events = await g.database.db.select().from(outboundEvents);
    expect(events).toHaveLength(ids.length + 3);
    expect(r.acknowledged).toHaveLength(0);

    r.setMode('ok');
    spawnWorker(g.env);
    await eventually(async () => {
      const deliveries = await deliveriesOf(g, endpoint.id);
      return deliveries.length === events.length && deliveries.every((d) => d.status === 'delivered')
        ? true
        : undefined;
    }, 120_000);
    const received = new Set(r.acknowledged.map((m) => m.id));
    for (const event of events) expect(received.has(event.id)).toBe(true);
    for (const [i, id] of ids.entries()) {
      // First arrival of each event id, in arrival order (a resend after the crash is a duplicate).
      const seen: string[] = [];
      for (const m of r.acknowledged) {
        if (m.event.data.id === id && !seen.includes(m.id)) seen.push(m.id);
      }
      const types = seen.map((eventId) => events.find((e) => e.id === eventId)?.type);
      expect(types).toEqual(
        i < 3 ? ['appointment.confirmed', 'appointment.cancelled'] : ['appointment.confirmed'],
      );
    }
  });
});
