import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, startGateway, testDay } from '../support/gateway.ts';
import { checkConsistency, report } from './support.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ env: { WORKER_CONCURRENCY: '20', DATABASE_POOL_MAX: '20' } });
});
afterAll(async () => {
  await gw.close();
});

describe('scenario 3: a race for five slots', () => {
  it('200 concurrent requests with different keys: exactly 5 confirmed, 195 SLOT_UNAVAILABLE', async () => {
    const day = testDay();
    const starts = ['09:00', '10:00', '11:00', '12:00', '13:00'].map((t) => berlin(day, t));
    const alex = gw.company.staffIds[0] as string;
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        gw.app.inject({
          method: 'POST',
          url: '/api/v2/bookings',
          headers: auth(gw.company.token, { prefer: 'wait=30', 'idempotency-key': `race-${i}` }),
          payload: {
            serviceId: gw.company.serviceIds[0],
            staffId: alex,
            start: starts[i % starts.length],
            timeZone: 'Europe/Berlin',
            customer: { name: `Racer ${i}`, email: `racer-${i}@example.org` },
          },
        }),
      ),
    );
    const statuses: Record<string, number> = {};
    for (const res of responses) {
      const key = res.statusCode === 409 ? `409 ${res.json().error.code}` : String(res.statusCode);
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    // Every booking Cal.com ever made, cancelled ones included: a loser booked and then undone counts.
    const made = gw.sandbox.control.bookings();
    const consistency = await checkConsistency(gw);
    report('race', {
      requests: 200,
      slots: 5,
      answers: statuses,
      calcomBookingsMade: made.length,
      confirmed: consistency.byStatus.confirmed ?? 0,
      orphans: consistency.orphans.length,
      duplicates: consistency.duplicates.length,
    });
    expect(statuses).toEqual({ '201': 5, '409 SLOT_UNAVAILABLE': 195 });
    expect(made).toHaveLength(5);
    expect(made.every((b) => b.status === 'accepted')).toBe(true);
    expect(new Set(made.map((b) => b.start)).size).toBe(5);
    expect(consistency.byStatus).toEqual({ confirmed: 5, failed: 195 });
    expect(consistency.orphans).toEqual([]);
    expect(consistency.duplicates).toEqual([]);
    expect(consistency.missing).toEqual([]);
  });
});
