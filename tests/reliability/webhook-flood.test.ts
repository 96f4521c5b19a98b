import { readFileSync } from 'node:fs';
import { signCalcomPayload } from '@calgate/calcom';
import { appointments, webhookInbox } from '@calgate/db';
import { mulberry32 } from '@calgate/sandbox';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berlin, eventually, type Gateway, HAIRCUT, startGateway, testDay } from '../support/gateway.ts';
import { freePort, pool, report, scenarioSeed, throwawayRedis } from './support.ts';

const SECRET = 'test-webhook-secret-123';
const TEMPLATE = JSON.parse(
  readFileSync(
    new URL('../../packages/calcom/contract/webhooks/booking-created.json', import.meta.url),
    'utf8',
  ),
) as { payload: Record<string, unknown> };

/** Which deliveries are duplicated, and the order they are sent in (RELIABILITY_SEED replays it). */
const seed = scenarioSeed();
const random = mulberry32(seed);
/** The first booking's start; the others follow every 30 minutes (a webhook's times are not checked). */
const FIRST_START = Date.parse(berlin(testDay(), '09:00'));

let gw: Gateway;
let redis: ReturnType<typeof throwawayRedis>;
beforeAll(async () => {
  redis = throwawayRedis(await freePort());
  await redis.start();
  gw = await startGateway({
    listen: true,
    env: {
      REDIS_URL: redis.url,
      SWEEP_INTERVAL_SECONDS: '2',
      WORKER_CONCURRENCY: '20',
      DATABASE_POOL_MAX: '20',
    },
  });
});
afterAll(async () => {
  await gw.close();
  await redis.stop();
});

/** A booking made in Cal.com's UI: a unique uid on a mapped event type, as Cal.com sends it. */
function created(i: number): string {
  const uid = `flood${String(i).padStart(6, '0')}`;
  const start = new Date(FIRST_START + i * 30 * 60_000);
  return JSON.stringify({
    triggerEvent: 'BOOKING_CREATED',
    createdAt: new Date().toISOString(),
    payload: {
      ...TEMPLATE.payload,
      uid,
      bookingId: 500_000 + i,
      iCalUID: `${uid}@Cal.com`,
      iCalSequence: 0,
      eventTypeId: i % 2 === 0 ? HAIRCUT.alex : HAIRCUT.billie,
      startTime: start.toISOString(),
      endTime: new Date(start.getTime() + 30 * 60_000).toISOString(),
      metadata: {},
    },
  });
}

describe('scenario 4: webhook flood', () => {
  it('5,000 deliveries (10% duplicates, 5% bad signatures, 1% malformed) with Redis restarted midway', async ({
    onTestFailed,
  }) => {
    onTestFailed(() => {
      process.stdout.write(
        `[reliability] webhook-flood failed with seed ${seed}: RELIABILITY_SEED=${seed}\n`,
      );
    });
    const unique = 4_200;
    type Delivery = { kind: 'valid' | 'duplicate' | 'forged' | 'malformed'; body: string; signature: string };
    const deliveries: Delivery[] = [];
    for (let i = 0; i < unique; i++) {
      const body = created(i);
      deliveries.push({ kind: 'valid', body, signature: signCalcomPayload(body, SECRET) });
    }
    for (let i = 0; i < 500; i++) {
      const original = deliveries[Math.floor(random() * unique)] as Delivery;
      deliveries.push({ ...original, kind: 'duplicate' });
    }
    for (let i = 0; i < 250; i++) {
      const body = created(unique + i);
      deliveries.push({ kind: 'forged', body, signature: signCalcomPayload(body, 'not-the-secret-0000') });
    }
    for (let i = 0; i < 50; i++) {
      const body = `${created(unique + 250 + i).slice(0, 200)}`;
      deliveries.push({ kind: 'malformed', body, signature: signCalcomPayload(body, SECRET) });
    }
    // Fisher-Yates, seeded.
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j] as Delivery, deliveries[i] as Delivery];
    }

    const answers: Record<string, Record<number, number>> = {};
    let sent = 0;
    let restartedAt = -1;
    const restart = async () => {
      restartedAt = sent;
      await redis.stop();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await redis.start();
    };
    let restarting: Promise<void> | undefined;
    const started = Date.now();
    await pool(
      50,
      deliveries.map((d) => async () => {
        const res = await fetch(`${gw.baseUrl}/api/webhooks/calcom`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-cal-signature-256': d.signature },
          body: d.body,
        });
        await res.arrayBuffer();
        const byKind = answers[d.kind] ?? {};
        byKind[res.status] = (byKind[res.status] ?? 0) + 1;
        answers[d.kind] = byKind;
        sent++;
        if (sent === 2_500) restarting = restart();
      }),
    );
    await restarting;
    const sendMs = Date.now() - started;

    // Every valid delivery stored once and processed to its end (none left received, enqueued or
    // processing), the ones lost with Redis included. The deadline is generous: on a loaded 2-core
    // machine the 4,200 deliveries took three minutes to apply.
    let appliedMs: number | undefined;
    const waited = await eventually(async () => {
      if (appliedMs === undefined) {
        const [{ count } = { count: 0 }] = await gw.database.db
          .select({ count: sql<number>`count(*)::int` })
          .from(appointments)
          .where(eq(appointments.source, 'calcom'));
        if (count >= unique) appliedMs = Date.now() - started;
      }
      const open = await gw.database.db
        .select({ id: webhookInbox.id })
        .from(webhookInbox)
        .where(inArray(webhookInbox.status, ['received', 'enqueued', 'processing']))
        .limit(1);
      return open.length === 0 ? true : undefined;
    }, 480_000).catch((error: unknown) => error);
    const processMs = Date.now() - started;
    const rows = await gw.database.db
      .select({ uid: appointments.calcomBookingUid })
      .from(appointments)
      .where(eq(appointments.source, 'calcom'));
    const inbox = await gw.database.db.select({ status: webhookInbox.status }).from(webhookInbox);
    const uids = new Set(rows.map((r) => r.uid));
    const forgedApplied = rows.filter((r) => Number((r.uid ?? '').slice(5)) >= unique).length;
    report('webhook-flood', {
      seed,
      deliveries: deliveries.length,
      unique,
      answers,
      redisRestartedAfter: restartedAt,
      inboxRows: inbox.length,
      inboxNotProcessed: inbox.filter((r) => r.status !== 'processed').length,
      appointments: rows.length,
      distinctUids: uids.size,
      forgedOrMalformedApplied: forgedApplied,
      sendMs,
      appliedMs,
      processMs,
      inboxByStatus: inbox.reduce<Record<string, number>>((acc, r) => {
        acc[r.status] = (acc[r.status] ?? 0) + 1;
        return acc;
      }, {}),
    });
    expect(waited).toBe(true);
    expect(rows).toHaveLength(unique);
    expect(uids.size).toBe(unique);
    expect(forgedApplied).toBe(0);
    expect(inbox).toHaveLength(unique);
    expect(inbox.every((r) => r.status === 'processed')).toBe(true);
    expect(answers.valid).toEqual({ 200: unique });
    expect(answers.duplicate).toEqual({ 200: 500 });
    expect(answers.forged).toEqual({ 401: 250 });
    expect(answers.malformed).toEqual({ 400: 50 });
  }, 600_000);
});
