/** Benchmark 5: Cal.com calls per operation in a phone-assistant mix (cache hit ratio, calls per booking). */
import { testDay } from '@calgate/testkit';
import { add, fmt, raw } from '../report.ts';
import {
  API_PORT,
  api,
  auth,
  baseEnv,
  composite,
  demo,
  haircut,
  post,
  procs,
  sandbox,
  say,
  stopAll,
  worker,
} from '../setup.ts';

export async function callsPerOperation(): Promise<void> {
  say('5: Cal.com calls per operation');

  const env = baseEnv('b5');
  const a = await api(env);
  procs.push(a);
  const w = await worker(env);
  procs.push(w);
  const day = testDay();
  const count = (since: number, op: string) =>
    sandbox.control.requests(since).filter((r) => r.operation === op).length;
  let asks = 0;
  let askCalls = 0;
  let bookingCalls = 0;
  let bookings = 0;
  const askStart = Date.now();
  for (let customer = 0; customer < 20; customer++) {
    let free: Array<{ start: string }> = [];
    for (let q = 0; q < 10; q++) {
      const t = Date.now();
      const res = await fetch(
        `http://127.0.0.1:${API_PORT}/api/v2/services/${haircut}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
        { headers: auth },
      );
      free = ((await res.json()) as { slots: Array<{ start: string }> }).slots;
      asks++;
      askCalls += count(t, 'slots.get');
    }
    const slot = free[customer % Math.max(1, free.length)];
    const t = Date.now();
    const res = await post(
      {
        serviceId: haircut,
        start: slot?.start,
        timeZone: 'Europe/Berlin',
        customer: { name: 'Phone', email: `phone-${customer}@example.org` },
      },
      { prefer: 'wait=20' },
    );
    if (res.status === 201) bookings++;
    bookingCalls += sandbox.control.requests(t).length;
  }
  const eventTypes = demo.staff.length;
  const hitRatio = 1 - askCalls / (asks * eventTypes);
  // 3-segment composites: asked once, then booked.
  let compositeCalls = 0;
  let composites = 0;
  const compositeOps: Record<string, number> = {};
  const cday = testDay();
  for (let i = 0; i < 5; i++) {
    const res = await fetch(
      `http://127.0.0.1:${API_PORT}/api/v2/services/${composite}/availability?start=${cday}&end=${cday}&timeZone=Europe/Berlin`,
      { headers: auth },
    );
    const free = ((await res.json()) as { slots: Array<{ start: string }> }).slots;
    const t = Date.now();
    const booked = await post(
      {
        serviceId: composite,
        start: free[0]?.start,
        timeZone: 'Europe/Berlin',
        customer: { name: 'Colour', email: `colour-${i}@example.org` },
      },
      { prefer: 'wait=20' },
    );
    if (booked.status === 201) composites++;
    const made = sandbox.control.requests(t);
    compositeCalls += made.length;
    for (const r of made) compositeOps[r.operation] = (compositeOps[r.operation] ?? 0) + 1;
  }
  await stopAll();
  raw.callsPerOperation = {
    asks,
    askCalls,
    askPhaseMs: Date.now() - askStart,
    bookings,
    bookingCalls,
    composites,
    compositeCalls,
    compositeOps,
  };
  say(`composite booking calls by operation: ${JSON.stringify(compositeOps)}`);
  add({
    id: 5,
    what: 'Phone-assistant mix: 20 customers x 10 availability asks, then a booking',
    measured: `cache hit ratio ${fmt(hitRatio, 3)}; ${fmt(bookingCalls / Math.max(1, bookings), 2)} calls per simple booking; ${fmt(compositeCalls / Math.max(1, composites), 2)} per 3-segment composite`,
    baseline: '-',
    ratio: null,
    target: 'hit ratio >= 0.9; 1.0 per simple; 3.0 per composite',
    met: hitRatio >= 0.9 && bookingCalls === bookings && compositeCalls === 3 * composites && bookings === 20,
  });
}
