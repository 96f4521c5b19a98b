import { mkdirSync, writeFileSync } from 'node:fs';
import { outboundAttempts } from '@calgate/db';
import { inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDays } from '../support/gateway.ts';
import { deliveriesOf, OUTBOUND_ENV, registerEndpoint } from '../support/outbound.ts';
import { type Receiver, startReceiver, typesOf } from '../support/receiver.ts';

const OUTAGE_MS = 180_000;

let gw: Gateway | undefined;
let receiver: Receiver | undefined;
afterAll(async () => {
  await receiver?.close();
  await gw?.close();
});

describe('an outbound endpoint down for three minutes', () => {
  it('receives every event afterwards exactly once per event id, in order per appointment', async () => {
    // A compressed version of the production schedule that still spans the outage.
    gw = await startGateway({
      env: { ...OUTBOUND_ENV, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '1s,5s,15s,30s,60s,60s,60s,60s,60s' },
    });
    const g = gw;
    receiver = await startReceiver();
    const r = receiver;
    const endpoint = await registerEndpoint(g, r.url);
    await r.stop();
    const downAt = Date.now();

    const ids: string[] = [];
    const [first, second] = testDays(2);
    for (const day of [first, second] as string[]) {
      for (const time of ['09:00', '10:00', '11:00', '12:00', '13:00']) {
        const res = await g.app.inject({
          method: 'POST',
          url: '/api/v2/bookings',
          headers: auth(g.company.token, { prefer: 'wait=20' }),
          payload: {
            serviceId: g.company.serviceIds[0],
            start: berlin(day, time),
            timeZone: 'Europe/Berlin',
            customer: { name: 'O', email: `outage-${ids.length}@example.org` },
          },
        });
        expect(res.statusCode).toBe(201);
        ids.push(res.json().id);
      }
    }
    // Half are moved and cancelled during the outage: three events each, which must arrive in order.
    const later = ['14:00', '14:30', '15:00', '15:30', '16:00'];
    for (const [i, id] of ids.slice(0, 5).entries()) {
      const moved = await g.app.inject({
        method: 'PATCH',
        url: `/api/v2/bookings/${id}`,
        headers: auth(g.company.token, { prefer: 'wait=20' }),
        payload: { start: berlin(second as string, later[i] as string), timeZone: 'Europe/Berlin' },
      });
      expect(moved.statusCode).toBe(200);
      await g.app.inject({
        method: 'DELETE',
        url: `/api/v2/bookings/${id}`,
        headers: auth(g.company.token, { prefer: 'wait=20' }),
      });
    }
    const expected = ids.length + 10;

    // The outage itself lasts three minutes by design: this wait is the scenario, not a guess.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, downAt + OUTAGE_MS - Date.now())));
    const deliveries = await deliveriesOf(g, endpoint.id);
    expect(deliveries).toHaveLength(expected);
    const refused = await g.database.db
      .select()
      .from(outboundAttempts)
      .where(
        inArray(
          outboundAttempts.deliveryId,
          deliveries.map((d) => d.id),
        ),
      );
    expect(deliveries.every((d) => d.status === 'pending')).toBe(true);
    await r.start();
    const upAt = Date.now();

    await eventually(async () => {
      const rows = await deliveriesOf(g, endpoint.id);
      return rows.every((d) => d.status === 'delivered') ? true : undefined;
    }, 180_000);
    const recoveredMs = Date.now() - upAt;
    expect(r.acknowledged).toHaveLength(expected);
    expect(new Set(r.acknowledged.map((m) => m.id)).size).toBe(expected);
    for (const [i, id] of ids.entries()) {
      expect(typesOf(r, id)).toEqual(
        i < 5
          ? ['appointment.confirmed', 'appointment.rescheduled', 'appointment.cancelled']
          : ['appointment.confirmed'],
      );
    }
    const figures = {
      outageSeconds: Math.round((upAt - downAt) / 1000),
      events: expected,
      refusedAttempts: refused.length,
      acknowledged: r.acknowledged.length,
      distinctIds: new Set(r.acknowledged.map((m) => m.id)).size,
      allDeliveredSecondsAfterRecovery: Math.round(recoveredMs / 1000),
    };
    process.stdout.write(`[reliability] outbound-outage: ${JSON.stringify(figures)}\n`);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(
      new URL('./results/outbound-outage.json', import.meta.url),
      `${JSON.stringify(figures, null, 2)}\n`,
    );
    // A 3-minute outage, the next retry a minute later, and the gateway started inside the test.
  }, 480_000);
});
