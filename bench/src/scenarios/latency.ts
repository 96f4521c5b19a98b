/**
 * Benchmark 10: the latency a caller feels. The sandbox answers every Cal.com call after
 * BENCH_LATENCY_MS (default 150 ms, about Cal.com's own); at 1, 10 and 50 concurrent callers we time
 * a simple booking and a 3-segment composite with `Prefer: wait`, a reschedule and a cancel with
 * `Prefer: wait`, and a cold availability request for the 3-staff haircut. What we add is each
 * operation's wall time minus the sandbox's own time (its request log) for the Cal.com calls on the
 * operation's critical path, measured in the same run.
 */
import { performance } from 'node:perf_hooks';
import { appointmentSegments } from '@calgate/db';
import { pool, testDays } from '@calgate/testkit';
import { inArray } from 'drizzle-orm';
import { add, fmt, raw } from '../report.ts';
import {
  API_PORT,
  api,
  auth,
  baseEnv,
  composite,
  database,
  haircut,
  post,
  procs,
  sandbox,
  say,
  slots,
  stopAll,
  worker,
} from '../setup.ts';

const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 150);
const LEVELS = [1, 10, 50] as const;
const WAIT = { prefer: 'wait=20' };

/** Nearest-rank percentile of `values` (0 when empty). */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
const summary = (values: number[]) => ({
  n: values.length,
  p50: percentile(values, 50),
  p99: percentile(values, 99),
  max: values.length === 0 ? 0 : Math.max(...values),
});
type Summary = ReturnType<typeof summary>;

/** Times `run` once per item, `concurrency` at a time; returns each run's wall time and result. */
async function timed<T, R>(
  concurrency: number,
  items: T[],
  run: (item: T) => Promise<R>,
): Promise<Array<{ item: T; ms: number; at: number; result: R }>> {
  return pool(
    concurrency,
    items.map((item) => async () => {
      const t = performance.now();
      const result = await run(item);
      return { item, ms: performance.now() - t, at: t, result };
    }),
  );
}

/** The sandbox's own time for the calls whose path or created booking names `uid`. */
function calcomMs(since: number, match: (entry: { path: string; createdUid: string | null }) => boolean) {
  return sandbox.control
    .requests(since)
    .filter(match)
    .reduce((sum, entry) => sum + entry.ms, 0);
}

interface View {
  id?: string;
  status?: string;
  calcom?: { bookingUid: string | null };
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: View }> {
  const res = await fetch(`http://127.0.0.1:${API_PORT}${path}`, {
    method,
    headers: { ...auth, ...WAIT, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as View };
}

/** Free composite starts: one per composite length of each fresh day, so no two compete. */
async function compositeStarts(count: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) {
    const [day] = testDays(1);
    const res = await fetch(
      `http://127.0.0.1:${API_PORT}/api/v2/services/${composite}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      { headers: auth },
    );
    if (res.status !== 200) throw new Error(`availability for ${day}: ${res.status} ${await res.text()}`);
    const free = ((await res.json()) as { slots: Array<{ start: string; end: string }> }).slots;
    let next = 0;
    for (const slot of free) {
      const at = Date.parse(slot.start);
      if (at >= next && out.length < count) {
        out.push(slot.start);
        next = Date.parse(slot.end);
      }
    }
  }
  return out;
}

interface Level {
  callers: number;
  simple: Summary & { wallP50: number; failed: number; beforeCall: Summary; afterCall: Summary };
  composite: Summary & { wallP50: number; failed: number; gap: Summary };
  reschedule: Summary & { wallP50: number; failed: number };
  cancel: Summary & { wallP50: number; failed: number };
  availability: Summary & { wallP50: number; oneCallMs: number; callsPerRequest: number; roundTrips: number };
}

async function measureLevel(callers: number): Promise<Level> {
  const n = callers === 1 ? 20 : callers * 4;
  const customer = (i: number) => ({ name: 'Latency', email: `latency-${callers}-${i}@example.org` });

  // A simple booking: one Cal.com create on the critical path.
  let since = Date.now();
  const booked = await timed(
    callers,
    slots(n).map((slot, i) => ({ ...slot, i })),
    (slot) =>
      post(
        {
          serviceId: haircut,
          staffId: slot.staffId,
          start: slot.start,
          timeZone: 'Europe/Berlin',
          customer: customer(slot.i),
        },
        WAIT,
      ),
  );
  const ok = booked.filter((b) => b.result.status === 201);
  const uidOf = new Map<string, string>();
  const simpleAdded: number[] = [];
  // Where the added time goes (the sandbox shares this process's clock): before the Cal.com call
  // (intake, queue, the worker's reads and checks) and after it (the outcome written, the waiting
  // request woken and answered).
  const beforeCall: number[] = [];
  const afterCall: number[] = [];
  for (const b of ok) {
    const view = b.result.json as View;
    const uid = view.calcom?.bookingUid ?? '';
    uidOf.set(view.id as string, uid);
    simpleAdded.push(b.ms - calcomMs(since, (e) => e.createdUid === uid));
    const create = sandbox.control.requests(since).find((e) => e.createdUid === uid);
    if (create !== undefined) {
      beforeCall.push(create.startedAt - b.at);
      afterCall.push(b.at + b.ms - (create.startedAt + create.ms));
    }
  }

  // A reschedule of each: one Cal.com reschedule (the path names the old booking).
  since = Date.now();
  const targets = slots(ok.length);
  const moved = await timed(callers, [...uidOf.keys()], (id) => {
    const target = targets.pop();
    return call('PATCH', `/api/v2/bookings/${id}`, { start: target?.start, timeZone: 'Europe/Berlin' });
  });
  const rescheduleAdded: number[] = [];
  for (const m of moved.filter((x) => x.result.status === 200)) {
    const old = uidOf.get(m.item) as string;
    rescheduleAdded.push(m.ms - calcomMs(since, (e) => e.path.includes(old)));
    uidOf.set(m.item, m.result.json.calcom?.bookingUid ?? '');
  }

  // A cancel of each: one Cal.com cancel.
  since = Date.now();
  const cancelled = await timed(callers, [...uidOf.keys()], (id) => call('DELETE', `/api/v2/bookings/${id}`));
  const cancelAdded: number[] = [];
  for (const c of cancelled.filter((x) => x.result.status === 200)) {
    const uid = uidOf.get(c.item) as string;
    cancelAdded.push(c.ms - calcomMs(since, (e) => e.path.includes(uid) && e.path.endsWith('/cancel')));
  }

  // A 3-segment composite: three Cal.com creates, one after the other.
  const starts = await compositeStarts(callers === 1 ? 10 : callers * 2);
  since = Date.now();
  const composites = await timed(
    callers,
    starts.map((start, i) => ({ start, i })),
    ({ start, i }) =>
      post({ serviceId: composite, start, timeZone: 'Europe/Berlin', customer: customer(1000 + i) }, WAIT),
  );
  const done = composites.filter((c) => c.result.status === 201);
  const segments = await database.db
    .select({
      appointmentId: appointmentSegments.appointmentId,
      position: appointmentSegments.position,
      uid: appointmentSegments.calcomBookingUid,
    })
    .from(appointmentSegments)
    .where(
      inArray(
        appointmentSegments.appointmentId,
        done.map((c) => c.result.json.id as string),
      ),
    );
  const log = sandbox.control.requests(since);
  const compositeAdded: number[] = [];
  const gaps: number[] = [];
  for (const c of done) {
    const calls = segments
      .filter((s) => s.appointmentId === c.result.json.id && s.uid !== null)
      .map((s) => log.find((e) => e.createdUid === s.uid))
      .filter((e) => e !== undefined)
      .sort((a, b) => a.startedAt - b.startedAt);
    compositeAdded.push(c.ms - calls.reduce((sum, e) => sum + e.ms, 0));
    for (let i = 1; i < calls.length; i++) {
      const before = calls[i - 1] as (typeof calls)[number];
      gaps.push((calls[i] as (typeof calls)[number]).startedAt - (before.startedAt + before.ms));
    }
  }

  // Cold availability for the 3-staff haircut: each request a day nobody asked for, so one slots
  // call per stylist; in parallel that is one round trip of wall time.
  const days = testDays(callers === 1 ? 20 : callers * 2);
  since = Date.now();
  const asked = await timed(callers, days, async (day) => {
    const res = await fetch(
      `http://127.0.0.1:${API_PORT}/api/v2/services/${haircut}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      { headers: auth },
    );
    await res.arrayBuffer();
    return res.status;
  });
  const slotCalls = sandbox.control.requests(since).filter((e) => e.operation === 'slots.get');
  const oneCallMs = percentile(
    slotCalls.map((e) => e.ms),
    50,
  );
  const walls = asked.map((a) => a.ms);
  const wall = (xs: Array<{ ms: number }>) =>
    percentile(
      xs.map((x) => x.ms),
      50,
    );

  return {
    callers,
    simple: {
      ...summary(simpleAdded),
      wallP50: wall(ok),
      failed: n - ok.length,
      beforeCall: summary(beforeCall),
      afterCall: summary(afterCall),
    },
    composite: {
      ...summary(compositeAdded),
      wallP50: wall(done),
      failed: starts.length - done.length,
      gap: summary(gaps),
    },
    reschedule: {
      ...summary(rescheduleAdded),
      wallP50: wall(moved),
      failed: moved.length - rescheduleAdded.length,
    },
    cancel: {
      ...summary(cancelAdded),
      wallP50: wall(cancelled),
      failed: cancelled.length - cancelAdded.length,
    },
    availability: {
      ...summary(walls.map((w) => w - oneCallMs)),
      wallP50: percentile(walls, 50),
      oneCallMs,
      callsPerRequest: slotCalls.length / Math.max(1, asked.length),
      roundTrips: percentile(walls, 50) / Math.max(1, oneCallMs),
    },
  };
}

export async function latency(): Promise<void> {
  say(`10: latency a caller feels (sandbox ${LATENCY_MS} ms per Cal.com call; 1, 10, 50 callers)`);
  const env = baseEnv('b10', { MAX_WAITERS_PER_COMPANY: '10000' });
  procs.push(await api(env));
  procs.push(await worker(env));
  sandbox.control.setLatency(LATENCY_MS);
  try {
    // Warm-up, not measured: JIT at one caller, then a burst of bookings at the busiest level, so
    // that every database connection the pools will use is open (postgres.js opens them as
    // concurrency first needs them, and a statement is prepared on each) as in a gateway that has
    // been running.
    await measureLevel(1);
    const busiest = Math.max(...LEVELS);
    await timed(busiest, slots(busiest * 2), (slot) =>
      post(
        {
          serviceId: haircut,
          ...slot,
          timeZone: 'Europe/Berlin',
          customer: { name: 'Warm-up', email: 'warm-up@example.org' },
        },
        WAIT,
      ),
    );
    const levels: Level[] = [];
    for (const callers of LEVELS) {
      const level = await measureLevel(callers);
      levels.push(level);
      say(`10: ${callers} callers ${JSON.stringify(level)}`);
    }
    raw.latency = { sandboxLatencyMs: LATENCY_MS, levels };
    const at = (callers: number) => levels.find((l) => l.callers === callers) as Level;
    const per = (pick: (l: Level) => Summary) =>
      levels.map((l) => `${l.callers}: ${fmt(pick(l).p50)}/${fmt(pick(l).p99)}`).join(', ');
    const failed = levels.reduce(
      (sum, l) => sum + l.simple.failed + l.composite.failed + l.reschedule.failed + l.cancel.failed,
      0,
    );
    add({
      id: 10,
      what: `Latency we add to a simple booking with Prefer: wait (sandbox ${LATENCY_MS} ms per call), p50/p99 ms at 1, 10, 50 callers`,
      measured: `${per((l) => l.simple)}; reschedule ${per((l) => l.reschedule)}; cancel ${per((l) => l.cancel)} (${failed} failed)`,
      baseline: `the sandbox's own time for the Cal.com call, same run (wall p50 at 10 callers ${fmt(at(10).simple.wallP50)} ms; added p50 before the call ${fmt(at(10).simple.beforeCall.p50)}, after it ${fmt(at(10).simple.afterCall.p50)})`,
      ratio: null,
      target: 'added p50 <= 10 ms, p99 <= 40 ms at 10 callers',
      met: at(10).simple.p50 <= 10 && at(10).simple.p99 <= 40 && failed === 0,
    });
    add({
      id: 10,
      what: '3-segment composite with Prefer: wait: added p50/p99 ms and idle gap between segment calls p50/p99/max ms',
      measured: levels
        .map(
          (l) =>
            `${l.callers}: added ${fmt(l.composite.p50)}/${fmt(l.composite.p99)}, gap ${fmt(l.composite.gap.p50)}/${fmt(l.composite.gap.p99)}/${fmt(l.composite.gap.max)}`,
        )
        .join('; '),
      baseline: "the sandbox's own time for the three creates, same run",
      ratio: null,
      target: 'gap <= 5 ms (p99 at 10 callers)',
      met: at(10).composite.gap.p99 <= 5 && at(10).composite.failed === 0,
    });
    add({
      id: 10,
      what: 'Cold availability, 3-staff service: wall p50 in Cal.com round trips (calls per request), added p50/p99 ms',
      measured: levels
        .map(
          (l) =>
            `${l.callers}: ${fmt(l.availability.roundTrips, 2)} (${fmt(l.availability.callsPerRequest)}), ${fmt(l.availability.p50)}/${fmt(l.availability.p99)}`,
        )
        .join('; '),
      baseline: `one slots call, median in the same run: ${fmt(at(1).availability.oneCallMs)} ms`,
      ratio: at(10).availability.roundTrips,
      target: 'one round trip of wall time (< 1.5) at 10 callers',
      met: at(10).availability.roundTrips < 1.5,
    });
  } finally {
    sandbox.control.setLatency(0);
    await stopAll();
  }
}
