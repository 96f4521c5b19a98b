import { describe, expect, it } from 'vitest';
import { createSandboxApp, DEMO_API_KEY, mulberry32 } from '../src/index.ts';

const CALLS = 60;
/**
 * The first three outputs (times 2^32) of mulberry32(42) as computed by its author's reference code
 * (`var t = a += 0x6D2B79F5; t = Math.imul(t ^ t >>> 15, t | 1); ...`).
 */
const REFERENCE_42 = [2_581_720_956, 1_925_393_290, 3_661_312_704];

/** The statuses of `CALLS` calls to GET /v2/me under a 503 with probability 0.3 and a 429 with 0.2. */
async function faultSequence(randomSeed: number, reseed?: number): Promise<number[]> {
  const { app, control } = createSandboxApp({ randomSeed, rateLimitPerMinute: 10_000 });
  if (reseed !== undefined) control.setRandomSeed(reseed);
  control.injectFault({ operation: 'me.get', status: 503, probability: 0.3 });
  control.injectFault({ operation: '*', status: 429, probability: 0.2 });
  const statuses: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const res = await app.inject({
      method: 'GET',
      url: '/v2/me',
      headers: { authorization: `Bearer ${DEMO_API_KEY}` },
    });
    statuses.push(res.statusCode);
  }
  await app.close();
  return statuses;
}

/** Which of `count` webhook deliveries a 50% drop policy drops, for a seed. */
async function dropSequence(randomSeed: number, count: number): Promise<boolean[]> {
  const { app, control } = createSandboxApp({ randomSeed });
  const hook = await app.inject({
    method: 'POST',
    url: '/v2/webhooks',
    headers: { authorization: `Bearer ${DEMO_API_KEY}` },
    // Nothing listens on the discard port: the deliveries that are sent fail at once.
    payload: { subscriberUrl: 'http://127.0.0.1:9/hook', triggers: ['BOOKING_CANCELLED'], active: true },
  });
  expect(hook.statusCode).toBe(201);
  control.setWebhookDrop({ probability: 0.5 });
  const start = Date.now() + 30 * 86_400_000;
  for (let i = 0; i < count; i++) {
    // Any time will do: the booking is only made to be cancelled, which fires the webhook.
    const booking = control.createBookingDirect({
      eventTypeId: 102,
      start: new Date(nextOpenQuarter(start + i * 3_600_000)).toISOString(),
      attendee: { name: 'Ada', email: `ada-${i}@example.org`, timeZone: 'Europe/Berlin' },
    });
    control.cancelBookingDirect(booking.uid, 'seeded');
  }
  await control.flushWebhooks();
  const deliveries = control.state().deliveries as Array<{ trigger: string; dropped: boolean }>;
  await app.close();
  return deliveries.filter((d) => d.trigger === 'BOOKING_CANCELLED').map((d) => d.dropped);
}

/** The first 15-minute mark at or after `at` that falls in the demo salon's hours (Mon-Sat 09-18 Berlin). */
function nextOpenQuarter(at: number): number {
  const hourIn = (t: number) =>
    Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: 'numeric' }).format(t));
  const weekdayIn = (t: number) =>
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short' }).format(t);
  for (let t = Math.ceil(at / 900_000) * 900_000; ; t += 900_000) {
    const hour = hourIn(t);
    if (weekdayIn(t) !== 'Sun' && hour >= 9 && hour < 17) return t;
  }
}

describe('seeded fault injection', () => {
  it('mulberry32 is the published generator (its reference code gives the same first values)', () => {
    const next = mulberry32(42);
    const values = Array.from({ length: 3 }, () => next());
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(values.map((v) => Math.round(v * 4_294_967_296))).toEqual(REFERENCE_42);
  });

  it('the same seed gives the same fault sequence, another seed another', async () => {
    const first = await faultSequence(1234);
    const again = await faultSequence(1234);
    const other = await faultSequence(98765);
    expect(first).toEqual(again);
    expect(other).not.toEqual(first);
    // Both faults did fire (the sequence is not trivially all 200).
    expect(first).toContain(503);
    expect(first).toContain(429);
    expect(first).toContain(200);
  });

  it('setRandomSeed restarts the sequence, as a sandbox started with that seed', async () => {
    expect(await faultSequence(7, 1234)).toEqual(await faultSequence(1234));
  });

  it('the same seed drops the same webhook deliveries', async () => {
    const first = await dropSequence(555, 24);
    expect(first).toHaveLength(24);
    expect(await dropSequence(555, 24)).toEqual(first);
    expect(await dropSequence(556, 24)).not.toEqual(first);
    expect(first).toContain(true);
    expect(first).toContain(false);
  });

  it('reports the seed in use in its state', () => {
    const { control } = createSandboxApp({ randomSeed: 4_000_000_000 });
    expect(control.state().randomSeed).toBe(4_000_000_000);
    control.setRandomSeed(17);
    expect(control.state().randomSeed).toBe(17);
    const unseeded = createSandboxApp().control.state().randomSeed;
    expect(Number.isInteger(unseeded)).toBe(true);
  });
});
