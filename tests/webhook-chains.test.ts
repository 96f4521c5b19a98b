import { readFileSync } from 'node:fs';
import { parseCalcomWebhook, signCalcomPayload } from '@calgate/calcom';
import { appointments, webhookInbox } from '@calgate/db';
import { applyObservedBooking, type ObservedBooking, observeWebhook } from '@calgate/domain';
import { seedCompany } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Gateway, startGateway, testDay, testDays } from './support/gateway.ts';

/**
 * Which appointment a Cal.com booking belongs to: never one its metadata names when the booking is
 * of another chain (anyone booking through Cal.com's pages writes metadata); two deliveries of one
 * booking under different chain keys.
 */
const SECRET = 'test-webhook-secret-123';
const FIXTURE_EVENT_TYPE = 318552;
const created = JSON.parse(
  readFileSync(new URL('../packages/calcom/contract/webhooks/booking-created.json', import.meta.url), 'utf8'),
) as { triggerEvent: string; createdAt: string; payload: Record<string, unknown> };

let gw: Gateway;
let introCompanyId: string;
beforeAll(async () => {
  gw = await startGateway();
  introCompanyId = (
    await seedCompany(gw.database.db, {
      name: 'Intro calls',
      staff: [{ name: 'Dana', calcomUserId: 41 }],
      services: [
        {
          name: 'Intro call',
          segments: [
            {
              name: 'Intro call',
              durationMinutes: 30,
              eventTypes: [{ staff: 0, eventTypeId: FIXTURE_EVENT_TYPE }],
            },
          ],
        },
      ],
    })
  ).companyId;
});
afterAll(async () => {
  await gw.close();
});

async function apply(body: unknown) {
  const text = JSON.stringify(body);
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/webhooks/calcom',
    headers: { 'content-type': 'application/json', 'x-cal-signature-256': signCalcomPayload(text, SECRET) },
    payload: text,
  });
  expect(res.statusCode, res.body).toBe(200);
  const id = res.json().id as string;
  return eventually(async () => {
    const [row] = await gw.database.db.select().from(webhookInbox).where(eq(webhookInbox.id, id));
    return row !== undefined && ['processed', 'ignored', 'failed'].includes(row.status) ? row : undefined;
  });
}

const byUid = async (uid: string) =>
  (await gw.database.db.select().from(appointments).where(eq(appointments.calcomBookingUid, uid)))[0];

/** The real BOOKING_CREATED as another booking: its own uid, iCal chain and half hour at 09:00 + `hour`. */
function booking(
  tag: string,
  day: string,
  hour: number,
  over: Record<string, unknown> = {},
  trigger = 'BOOKING_CREATED',
) {
  const start = new Date(`${day}T09:00:00Z`).getTime() + hour * 3_600_000;
  return {
    ...created,
    triggerEvent: trigger,
    payload: {
      ...created.payload,
      uid: `uid-${tag}`,
      iCalUID: `ical-${tag}@Cal.com`,
      bookingId: Math.floor(Math.random() * 1e8),
      startTime: new Date(start).toISOString(),
      endTime: new Date(start + 30 * 60_000).toISOString(),
      ...over,
    },
  };
}

describe('a booking of another chain whose metadata names our appointment', () => {
  it('neither moves nor cancels ours, and is recorded as the booking it is', async () => {
    const day = testDay();
    await apply(booking('victim', day, 0, { iCalSequence: 0 }));
    const victim = await byUid('uid-victim');
    expect(victim?.status).toBe('confirmed');
    const stranger = {
      iCalSequence: 0,
      metadata: { calgateId: victim?.id },
      attendees: [{ name: 'Stranger', email: 'stranger@example.org', timeZone: 'Europe/Berlin' }],
    };
    await apply(booking('stranger', day, 2, stranger));
    // Cal.com raises the iCal sequence on a cancel.
    await apply(
      booking('stranger', day, 2, { ...stranger, iCalSequence: 1, status: 'CANCELLED' }, 'BOOKING_CANCELLED'),
    );
    const [ours] = await gw.database.db
      .select()
      .from(appointments)
      .where(eq(appointments.id, victim?.id as string));
    expect(ours).toMatchObject({ status: 'confirmed', calcomBookingUid: 'uid-victim' });
    expect(ours?.startsAt.toISOString()).toBe(victim?.startsAt.toISOString());
    const theirs = await byUid('uid-stranger');
    expect(theirs?.id).not.toBe(victim?.id);
    expect(theirs?.status).toBe('cancelled');
  });
});

describe('two deliveries of one booking under different chain keys', () => {
  it('apply both: a rejection racing the request it answers ends rejected', async () => {
    const runtime = gw.runtime();
    const observe = (body: unknown) => observeWebhook(parseCalcomWebhook(body)) as ObservedBooking;
    const context = { companyId: introCompanyId, actor: 'webhook' as const };
    const days = testDays(8);
    const statuses: string[] = [];
    for (const [i, day] of days.entries()) {
      const tag = `race${i}`;
      // BOOKING_REQUESTED carries the iCal uid; Cal.com's BOOKING_REJECTED does not.
      const requested = observe(
        booking(tag, day, 0, { status: 'PENDING', iCalSequence: 0 }, 'BOOKING_REQUESTED'),
      );
      const rejected = observe(
        booking(
          tag,
          day,
          0,
          { status: 'REJECTED', iCalUID: undefined, iCalSequence: undefined },
          'BOOKING_REJECTED',
        ),
      );
      await Promise.all([
        applyObservedBooking(runtime, requested, context),
        applyObservedBooking(runtime, rejected, context),
      ]);
      statuses.push((await byUid(`uid-${tag}`))?.status ?? 'missing');
    }
    expect(statuses).toEqual(Array(8).fill('rejected'));
  });
});
