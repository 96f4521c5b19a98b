import { registerWebhooksNow } from '@calgate/cli/operations';
import { appointmentSegments, appointments } from '@calgate/db';
import { QUEUE_NAMES } from '@calgate/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  berlin,
  eventually,
  type Gateway,
  HAIRCUT,
  startGateway,
  testDay,
  testDays,
} from '../support/gateway.ts';
import {
  busiestMinute,
  checkChangesApplied,
  checkConsistency,
  checkDroppedChanges,
  drain,
  pool,
  report,
  scenarioSeed,
} from './support.ts';

/** The gateway's budget per key and minute: the run needs more Cal.com calls than one minute allows. */
const BUDGET = 100;
/** Upstream failures a booking may end with once its attempts are spent (never a 429, never a slot). */
const EXHAUSTED = ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_ERROR', 'UPSTREAM_TIMEOUT'];
/** Changes made in Cal.com whose deliveries are dropped for certain, whatever the seed. */
const FORCED_DROPS = 4;

const seed = scenarioSeed();
let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({
    listen: true,
    sandbox: { randomSeed: seed },
    env: {
      CALCOM_RATE_LIMIT_PER_MINUTE: String(BUDGET),
      CALCOM_TIMEOUT: '1',
      CALCOM_MAX_RETRIES: '6',
      COMPENSATION_ATTEMPTS: '50',
      WORKER_CONCURRENCY: '10',
      SWEEP_INTERVAL_SECONDS: '5',
      // Cal.com never retries a webhook: reconciliation is what catches the dropped ones.
      RECONCILE_INTERVAL_MINUTES: '1',
    },
  });
  expect(await registerWebhooksNow({ runtime: gw.runtime(), out: () => undefined })).toBe(0);
});
afterAll(async () => {
  await gw.close();
});

const book = (body: Record<string, unknown>, key: string, headers: Record<string, string> = {}) =>
  gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, { 'idempotency-key': key, ...headers }),
    payload: {
      ...body,
      timeZone: 'Europe/Berlin',
      customer: { name: 'Faulty', email: `${key}@example.org` },
    },
  });

describe('scenario 2: fault storm', () => {
  it('20% 5xx, 10% 429, 5% timeouts, 10% dropped webhooks: all terminal, consistent, every dropped change applied, budget kept', async ({
    onTestFailed,
  }) => {
    onTestFailed(() => {
      process.stdout.write(`[reliability] fault-storm failed with seed ${seed}: RELIABILITY_SEED=${seed}\n`);
    });
    // Two composites booked before the storm: their segments are cancelled in Cal.com later on.
    const composites: string[] = [];
    for (const [i, day] of testDays(2).entries()) {
      const res = await book(
        { serviceId: gw.company.serviceIds[1], start: berlin(day, '09:00') },
        `fault-pre-${i}`,
        { prefer: 'wait=30' },
      );
      expect(res.statusCode).toBe(201);
      composites.push(res.json().id);
    }

    // Faults are tried in order, so the later probabilities are conditional on the earlier misses.
    // One call of the storm hangs for certain (the 11th), whatever the seed: at a 5% rate over about
    // 140 calls, a seed can leave the storm with no timeout at all (the runs seen counted 2-6).
    gw.sandbox.control.injectFault({ operation: '*', timeout: true, count: 1, skip: 10 });
    gw.sandbox.control.injectFault({ operation: '*', status: 503, probability: 0.2 });
    gw.sandbox.control.injectFault({
      operation: '*',
      status: 429,
      probability: 0.1 / 0.8,
      headers: { 'x-ratelimit-reset-default': '1' },
    });
    gw.sandbox.control.injectFault({ operation: '*', timeout: true, probability: 0.05 / 0.7 });
    gw.sandbox.control.setWebhookDrop({ probability: 0.1 });

    const simpleDays = testDays(8);
    const compositeDays = testDays(10);
    const requests = [
      ...Array.from({ length: 40 }, (_, i) => ({
        kind: 'simple',
        serviceId: gw.company.serviceIds[0] as string,
        start: berlin(
          simpleDays[Math.floor(i / 10)] as string,
          `${String(9 + Math.floor((i % 10) / 2)).padStart(2, '0')}:${i % 2 === 0 ? '00' : '30'}`,
        ),
      })),
      ...Array.from({ length: 10 }, (_, i) => ({
        kind: 'composite',
        serviceId: gw.company.serviceIds[1] as string,
        start: berlin(compositeDays[Math.floor(i / 2)] as string, i % 2 === 0 ? '09:00' : '13:00'),
      })),
    ];
    const since = Date.now();
    const answers: Record<string, Record<string, number>> = { simple: {}, composite: {} };
    await pool(
      10,
      requests.map(({ kind, ...r }, i) => async () => {
        const res = await book(r, `fault-${i}`);
        const byKind = answers[kind] as Record<string, number>;
        byKind[res.statusCode] = (byKind[res.statusCode] ?? 0) + 1;
      }),
    );
    await drain(gw, 240_000);
    const stormMs = Date.now() - since;
    const storm = await checkConsistency(gw);
    const stormRows = await gw.database.db.select().from(appointments);
    const confirmedOf = (serviceId: string | undefined) =>
      stormRows.filter((r) => r.serviceId === serviceId && r.status === 'confirmed').length;
    const failedRows = stormRows.filter((r) => r.status === 'failed');

    // Then changes made in Cal.com itself (its UI), while the faults go on: cancels, reschedules and
    // new bookings of simple appointments, and a cancelled segment of each pre-booked composite.
    // The first FORCED_DROPS deliveries are dropped for certain (one change of each kind, in this
    // order), the others with the storm's 10%.
    const simple = stormRows
      .filter((r) => r.serviceId === gw.company.serviceIds[0] && r.status === 'confirmed')
      .sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
    const segments = await gw.database.db.select().from(appointmentSegments);
    const segmentUid = (appointmentId: string | undefined) =>
      segments.find((s) => s.appointmentId === appointmentId && s.status === 'booked' && s.position === 1)
        ?.calcomBookingUid as string;
    const moveDay = testDay();
    const uidOf = (i: number) => simple[i]?.calcomBookingUid as string;
    const control = gw.sandbox.control;
    const changes: Array<{ kind: string; change: () => string }> = [
      { kind: 'cancel', change: () => control.cancelBookingDirect(uidOf(0), 'Cancelled in Cal.com').uid },
      {
        kind: 'reschedule',
        change: () => control.rescheduleBookingDirect(uidOf(1), berlin(moveDay, '09:00')).uid,
      },
      {
        kind: 'create',
        change: () =>
          control.createBookingDirect({
            eventTypeId: HAIRCUT.alex,
            start: berlin(moveDay, '14:00'),
            attendee: { name: 'Walk In', email: 'walk-in-0@example.org', timeZone: 'Europe/Berlin' },
          }).uid,
      },
      {
        kind: 'segment-cancel',
        change: () => control.cancelBookingDirect(segmentUid(composites[0]), 'Cancelled in Cal.com').uid,
      },
      { kind: 'cancel', change: () => control.cancelBookingDirect(uidOf(2), 'Cancelled in Cal.com').uid },
      {
        kind: 'reschedule',
        change: () => control.rescheduleBookingDirect(uidOf(3), berlin(moveDay, '10:00')).uid,
      },
      {
        kind: 'create',
        change: () =>
          control.createBookingDirect({
            eventTypeId: HAIRCUT.billie,
            start: berlin(moveDay, '15:00'),
            attendee: { name: 'Walk In', email: 'walk-in-1@example.org', timeZone: 'Europe/Berlin' },
          }).uid,
      },
      {
        kind: 'segment-cancel',
        change: () => control.cancelBookingDirect(segmentUid(composites[1]), 'Cancelled in Cal.com').uid,
      },
      { kind: 'cancel', change: () => control.cancelBookingDirect(uidOf(4), 'Cancelled in Cal.com').uid },
      {
        kind: 'reschedule',
        change: () => control.rescheduleBookingDirect(uidOf(5), berlin(moveDay, '11:00')).uid,
      },
    ];
    const deliveriesBefore = (control.state().deliveries as unknown[]).length;
    control.setWebhookDrop({ count: FORCED_DROPS, probability: 0.1 });
    // One synchronous burst: no other delivery can come between, so the forced drops hit these.
    const direct = changes.map(({ kind, change }) => ({ kind, uid: change() }));
    control.setWebhookDrop({ probability: 0.1 });
    const directDeliveries = (control.state().deliveries as Array<{ uid: string; dropped: boolean }>).slice(
      deliveriesBefore,
    );
    const droppedDirect = direct.filter((d) => directDeliveries.some((x) => x.uid === d.uid && x.dropped));

    // Reconciliation runs every minute: wait until Cal.com's state is ours, for every change.
    const changesStarted = Date.now();
    let lastUnapplied: string[] = [];
    await eventually(async () => {
      const dropped = await checkDroppedChanges(gw);
      const directUnapplied = await checkChangesApplied(
        gw,
        direct.map((d) => d.uid),
      );
      lastUnapplied = [...dropped.unapplied, ...directUnapplied];
      return lastUnapplied.length === 0 ? true : undefined;
    }, 180_000).catch(() => undefined);
    const appliedMs = Date.now() - changesStarted;
    await drain(gw, 120_000);
    const durationMs = Date.now() - since;
    gw.sandbox.control.clearFaults();

    const calls = gw.sandbox.control.requests(since).filter((r) => r.keyFingerprint !== null);
    const maxPerMinute = busiestMinute(calls);
    // The budget counts a call over 62 s from when it grants it; the sandbox logs it when it arrives.
    // A call held up on its way by a busy process can fall into a later minute of the log: the
    // assertion allows up to 6 s of that (a budget that missed calls would overshoot by tens).
    const maxPer56s = busiestMinute(calls, 56_000);
    const injected = {
      '5xx': calls.filter((c) => c.status === 503).length,
      '429': calls.filter((c) => c.status === 429).length,
      timeouts: calls.filter((c) => c.status === 0).length,
    };
    const failedJobs = (
      await Promise.all(QUEUE_NAMES.map((name) => gw.runtime().queues.queue(name).getFailed(0, 1_000)))
    ).flat();
    const failedBy429 = failedJobs.filter((j) => /RATE_LIMIT|429/.test(j.failedReason ?? ''));
    const exhausted = (appointmentId: string) =>
      failedJobs.some((j) => j.id?.includes(appointmentId) && j.attemptsMade >= (j.opts.attempts ?? 1));
    const dropped = await checkDroppedChanges(gw);
    const end = await checkConsistency(gw);
    const endRows = await gw.database.db.select().from(appointments);
    const accepted = (answers.simple?.[202] ?? 0) + (answers.composite?.[202] ?? 0);
    const stormConfirmed = storm.byStatus.confirmed ?? 0;
    report('fault-storm', {
      seed,
      requests: requests.length,
      answers,
      stormByStatus: storm.byStatus,
      stormFailureCodes: failedRows.map((r) => r.failureCode),
      stormCalcomBookingsMade: storm.calcomBookingsMade,
      stormSandboxAccepted: storm.sandboxAccepted,
      calcomCalls: calls.length,
      injected,
      webhooks: (control.state().deliveries as unknown[]).length,
      webhooksDropped: dropped.dropped,
      directChanges: direct.length,
      directDropped: droppedDirect.map((d) => d.kind),
      unappliedDrops: dropped.unapplied.length,
      changesAppliedMs: appliedMs,
      budgetPerMinute: BUDGET,
      maxCallsInAnyMinute: maxPerMinute,
      maxCallsIn56s: maxPer56s,
      byStatus: end.byStatus,
      calcomBookingsMade: end.calcomBookingsMade,
      jobsFailedBy429: failedBy429.length,
      orphans: end.orphans.length,
      duplicates: end.duplicates.length,
      missing: end.missing.length,
      stormMs,
      durationMs,
    });

    // The storm. Simple intake records without asking Cal.com: every simple request is accepted.
    // Composite intake asks Cal.com for availability while the caller waits: under the storm some
    // of those answers are a retryable 429 / 503 / 504 (nothing recorded), never anything else.
    expect(answers.simple).toEqual({ 202: 40 });
    expect(Object.keys(answers.composite ?? {}).every((s) => ['202', '429', '503', '504'].includes(s))).toBe(
      true,
    );
    expect(storm.appointments).toBe(accepted + composites.length);
    expect(injected['5xx']).toBeGreaterThan(0);
    expect(injected['429']).toBeGreaterThan(0);
    expect(injected.timeouts).toBeGreaterThan(0);
    expect(storm.notTerminal).toBe(0);
    // Every appointment ends confirmed or failed. A failure is legitimate only when every attempt
    // met a fault: it is an upstream failure (never a 429, never a taken slot: all were free) of a
    // job that spent all its attempts. Each of 7 attempts must meet a fault, so failures are few
    // (0-2 of 42 in the runs seen); the bound, at least 80% confirmed, leaves room for bad luck.
    expect(stormConfirmed + failedRows.length).toBe(storm.appointments);
    expect(failedRows.filter((r) => !EXHAUSTED.includes(r.failureCode ?? ''))).toEqual([]);
    expect(failedRows.filter((r) => !exhausted(r.id))).toEqual([]);
    expect(stormConfirmed).toBeGreaterThanOrEqual(Math.ceil(storm.appointments * 0.8));
    // Cal.com holds exactly one live booking per confirmed simple appointment and three per
    // confirmed composite; nothing was created twice.
    expect(storm.sandboxAccepted).toBe(
      confirmedOf(gw.company.serviceIds[0]) + 3 * confirmedOf(gw.company.serviceIds[1]),
    );
    expect(storm.duplicates).toEqual([]);
    expect(storm.orphans).toEqual([]);
    expect(storm.missing).toEqual([]);

    // The changes made in Cal.com: one of each kind was dropped for certain, and every dropped
    // delivery's change (of the whole run, the storm's own bookings included) is applied by the end.
    expect(droppedDirect.slice(0, FORCED_DROPS).map((d) => d.kind)).toEqual([
      'cancel',
      'reschedule',
      'create',
      'segment-cancel',
    ]);
    expect(lastUnapplied).toEqual([]);
    expect(dropped.unapplied).toEqual([]);
    expect(
      await checkChangesApplied(
        gw,
        direct.map((d) => d.uid),
      ),
    ).toEqual([]);
    const after = (id: string | undefined) => endRows.find((r) => r.id === id)?.status;
    expect(composites.map(after)).toEqual(['cancelled', 'cancelled']);
    expect([0, 2, 4].map((i) => after(simple[i]?.id))).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect([1, 3, 5].map((i) => endRows.find((r) => r.id === simple[i]?.id)?.startsAt.toISOString())).toEqual(
      ['09:00', '10:00', '11:00'].map((t) => new Date(berlin(moveDay, t)).toISOString()),
    );
    expect(endRows.filter((r) => r.source !== 'api' && r.status === 'confirmed')).toHaveLength(2);

    expect(end.notTerminal).toBe(0);
    expect(end.orphans).toEqual([]);
    expect(end.duplicates).toEqual([]);
    expect(end.missing).toEqual([]);
    expect(failedBy429).toEqual([]);
    expect(endRows.filter((r) => r.failureCode === 'RATE_LIMIT_EXCEEDED')).toEqual([]);
    expect(maxPer56s).toBeLessThanOrEqual(BUDGET);
    // Its own waits (about 9 minutes in all) govern, not the suite's 5-minute default.
  }, 600_000);
});
