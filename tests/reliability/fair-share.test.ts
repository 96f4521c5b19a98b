import { seedCompany } from '@calgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, startGateway, testDays } from '../support/gateway.ts';
import { busiestMinute, pool, report } from './support.ts';

/** Cal.com's default budget per key, which the two companies share. */
const BUDGET = 100;
/** The flood of issue 16: company A's bookings and availability misses. */
const FLOOD_BOOKINGS = 2_000;
const FLOOD_AVAILABILITY = 10_000;
/** Company B's bookings alone, and again during A's flood. */
const B_BOOKINGS = 20;
/** The sandbox's haircut with Casey, a stylist the seeded company A does not use. */
const CASEY_HAIRCUT = 104;
const OPENING = Array.from(
  { length: 16 },
  (_, i) => `${String(9 + Math.floor(i / 2)).padStart(2, '0')}:${i % 2 === 0 ? '00' : '30'}`,
);

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({
    // Cal.com's own limit (120 a minute) is enforced by the sandbox: a call over it answers 429.
    sandbox: { rateLimitPerMinute: 120, latencyMs: 20 },
    env: {
      CALCOM_RATE_LIMIT_PER_MINUTE: String(BUDGET),
      WORKER_CONCURRENCY: '20',
      DATABASE_POOL_MAX: '20',
      AVAILABILITY_MAX_DAYS_AHEAD: '3650',
    },
  });
});
afterAll(async () => {
  await gw?.close();
});

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
};

describe('scenario: fair share of a Cal.com key two companies use', () => {
  it("company A's flood (2,000 bookings, 10,000 availability misses) delays B's bookings by seconds at most", async () => {
    // B: a second salon on the same (default) Cal.com key, with the account's third stylist.
    const b = await seedCompany(gw.database.db, {
      name: 'Neighbour salon',
      staff: [{ name: 'Casey', calcomUserId: 4 }],
      services: [
        {
          name: 'Haircut',
          segments: [
            {
              name: 'Haircut',
              durationMinutes: 30,
              eventTypes: [{ staff: 0, eventTypeId: CASEY_HAIRCUT }],
            },
          ],
        },
      ],
    });
    const aService = gw.company.serviceIds[0] as string;
    const bService = b.serviceIds[0] as string;
    const bDays = testDays(3);
    const bSlots = bDays.flatMap((day) => OPENING.map((time) => berlin(day, time)));
    const bookAsB = async (start: string) => {
      const started = performance.now();
      const res = await gw.app.inject({
        method: 'POST',
        url: '/api/v2/bookings',
        headers: auth(b.token, { prefer: 'wait=120' }),
        payload: {
          serviceId: bService,
          start,
          timeZone: 'Europe/Berlin',
          staffId: b.staffIds[0],
          customer: { name: 'B customer', email: 'b@example.org' },
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().status).toBe('confirmed');
      return { ms: performance.now() - started, uid: res.json().calcom.bookingUid as string };
    };

    // B alone: its baseline.
    const alone: number[] = [];
    const bUids = new Set<string>();
    for (let i = 0; i < B_BOOKINGS; i++) {
      const { ms, uid } = await bookAsB(bSlots[i] as string);
      alone.push(ms);
      bUids.add(uid);
    }

    // A floods: its bookings (accepted at once, booked by the workers) and availability misses.
    const floodStarted = performance.now();
    const aDays = testDays(70);
    let stop = false;
    let accepted = 0;
    const aBookings = pool(
      50,
      Array.from({ length: FLOOD_BOOKINGS }, (_, i) => async () => {
        if (stop) return 0;
        const day = aDays[Math.floor(i / (2 * OPENING.length))] as string;
        const res = await gw.app.inject({
          method: 'POST',
          url: '/api/v2/bookings',
          headers: auth(gw.company.token),
          payload: {
            serviceId: aService,
            start: berlin(day, OPENING[Math.floor(i / 2) % OPENING.length] as string),
            timeZone: 'Europe/Berlin',
            staffId: gw.company.staffIds[i % 2],
            customer: { name: 'A customer', email: 'a@example.org' },
          },
        });
        if (res.statusCode === 202) accepted++;
        return res.statusCode;
      }),
    );
    const missDays = testDays(300);
    let asked = 0;
    const aAvailability = pool(
      200,
      Array.from({ length: FLOOD_AVAILABILITY }, (_, i) => async () => {
        asked++;
        const day = missDays[i % missDays.length] as string;
        const res = await gw.app.inject({
          method: 'GET',
          url: `/api/v2/services/${aService}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
          headers: auth(gw.company.token),
        });
        return res.statusCode;
      }),
    );
    // B starts booking once A's backlog is in the queue and its availability misses are coming.
    await expect.poll(() => accepted, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(300);
    await expect.poll(() => asked, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(1_000);
    const flooded: number[] = [];
    for (let i = B_BOOKINGS; i < 2 * B_BOOKINGS; i++) {
      const { ms, uid } = await bookAsB(bSlots[i] as string);
      flooded.push(ms);
      bUids.add(uid);
    }
    // A's bookings still being accepted are left out from here; all its availability misses go.
    stop = true;
    const [bookingAnswers, availabilityAnswers] = await Promise.all([aBookings, aAvailability]);
    const floodSeconds = (performance.now() - floodStarted) / 1000;

    // Every Cal.com call of the run: never a 429, never more than the budget in any minute.
    const calls = gw.sandbox.control.requests().filter((entry) => entry.operation !== 'unknown');
    expect(calls.filter((c) => c.status === 429)).toEqual([]);
    const busiest = busiestMinute(calls);
    expect(busiest).toBeLessThanOrEqual(BUDGET);
    const aCalls = calls.filter((c) => c.createdUid === null || !bUids.has(c.createdUid));
    const aBusiest = busiestMinute(aCalls);
    const figures = {
      budgetPerMinute: BUDGET,
      bAloneP50Ms: Math.round(quantile(alone, 0.5)),
      bAloneP99Ms: Math.round(quantile(alone, 0.99)),
      bFloodedP50Ms: Math.round(quantile(flooded, 0.5)),
      bFloodedP99Ms: Math.round(quantile(flooded, 0.99)),
      aBookingsAccepted: bookingAnswers.filter((s) => s === 202).length,
      aAvailabilityAsked: availabilityAnswers.length,
      aAvailabilityAnswered: availabilityAnswers.filter((s) => s === 200).length,
      aAvailabilityRefused429: availabilityAnswers.filter((s) => s === 429).length,
      aCalcomCalls: aCalls.length,
      aBusiestMinute: aBusiest,
      allBusiestMinute: busiest,
      floodSeconds: Math.round(floodSeconds),
    };
    report('fair-share', figures);
    // A really flooded: far more asked of the key than it allows.
    expect(figures.aBookingsAccepted).toBeGreaterThanOrEqual(300);
    expect(figures.aAvailabilityRefused429).toBeGreaterThan(0);
    // The key is used, not wasted: together the two fill it, and A, over its share, still gets at
    // least its half less the reserve it leaves to B.
    expect(busiest).toBeGreaterThanOrEqual(0.85 * BUDGET);
    expect(aBusiest).toBeGreaterThanOrEqual(BUDGET / 2 - BUDGET / 10);
    // B's bookings wait seconds, not minutes, behind A's backlog (the regression this guards
    // against had a median of a minute). Of 20 samples the 99th percentile is the slowest, which one
    // stall of a busy machine can stretch: the typical one is held to 2 s, the slowest to 15 s.
    expect(figures.bFloodedP50Ms).toBeLessThan(2_000);
    expect(figures.bFloodedP99Ms).toBeLessThan(15_000);
  });
});
