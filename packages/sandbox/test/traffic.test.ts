import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type RunningSandbox,
  type SandboxConfirmationPolicy,
  type SandboxEventType,
  startSandbox,
} from '../src/index.ts';
import { attendee, call, nextWorkday } from './helpers.ts';

let sb: RunningSandbox;
let receiver: Server;
let receiverUrl: string;
const received: Array<{ raw: Buffer; headers: Record<string, string | string[] | undefined> }> = [];

beforeAll(async () => {
  sb = await startSandbox({ rateLimitPerMinute: 5, rateLimitBlockSeconds: 60 });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ raw: Buffer.concat(chunks), headers: req.headers });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/hook`;
});
afterAll(async () => {
  await sb.close();
  await new Promise((resolve) => receiver.close(resolve));
});
beforeEach(() => {
  sb.control.reset();
  sb.control.setRateLimit(1000);
  received.length = 0;
});

const day = nextWorkday(3);
const at = (hour: number) => new Date(`${day}T${String(hour).padStart(2, '0')}:00:00Z`).toISOString();

describe('rate limits', () => {
  it('count per key with the -Default headers, answer 429 ThrottlerException, then block', async () => {
    sb.control.setRateLimit(3, 60);
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 5; i++) {
      last = await call(sb.baseUrl, 'GET', '/me');
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(last?.headers.get('x-ratelimit-limit-default')).toBe('3');
    expect(last?.headers.get('x-ratelimit-remaining-default')).toBe('0');
    expect(Number(last?.headers.get('x-ratelimit-reset-default'))).toBeGreaterThan(55);
    expect(last?.headers.get('retry-after')).toBeNull();
    expect(last?.body.error.code).toBe('ThrottlerException');
    // Another key is not affected.
    expect((await call(sb.baseUrl, 'GET', '/me', { key: 'cal_test_sandbox_alex' })).status).toBe(200);
  });
});

describe('webhooks', () => {
  it('are delivered signed over the raw body, in the fixture shapes, for create, reschedule and cancel', async () => {
    const hook = await call(sb.baseUrl, 'POST', '/webhooks', {
      body: {
        subscriberUrl: receiverUrl,
        triggers: ['BOOKING_CREATED', 'BOOKING_RESCHEDULED', 'BOOKING_CANCELLED'],
        active: true,
        secret: 'test-webhook-secret',
      },
    });
    expect(hook.status).toBe(201);
    expect(hook.body.data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(
      (
        await call(sb.baseUrl, 'POST', '/webhooks', {
          body: { subscriberUrl: receiverUrl, triggers: ['BOOKING_CREATED'], active: true },
        })
      ).status,
    ).toBe(409);

    const created = await call(sb.baseUrl, 'POST', '/bookings', {
      body: { start: at(9), eventTypeId: 102, attendee: attendee(), metadata: { calgateId: 'apt_hook' } },
    });
    const moved = await call(sb.baseUrl, 'POST', `/bookings/${created.body.data.uid}/reschedule`, {
      body: { start: at(10) },
    });
    await call(sb.baseUrl, 'POST', `/bookings/${moved.body.data.uid}/cancel`, {
      body: { cancellationReason: 'no longer needed' },
    });
    await sb.control.flushWebhooks();

    expect(received).toHaveLength(3);
    const bodies = received.map((r) => JSON.parse(r.raw.toString('utf8')));
    expect(bodies.map((b) => b.triggerEvent)).toEqual([
      'BOOKING_CREATED',
      'BOOKING_RESCHEDULED',
      'BOOKING_CANCELLED',
    ]);
    for (const r of received) {
      expect(r.headers['x-cal-signature-256']).toBe(
        createHmac('sha256', 'test-webhook-secret').update(r.raw).digest('hex'),
      );
      expect(r.headers['x-cal-webhook-version']).toBe('2021-10-20');
    }
    expect(bodies[0].payload).toMatchObject({
      uid: created.body.data.uid,
      status: 'ACCEPTED',
      metadata: { calgateId: 'apt_hook' },
    });
    expect(bodies[1].payload).toMatchObject({
      uid: moved.body.data.uid,
      rescheduleUid: created.body.data.uid,
    });
    expect(bodies[2].payload).toMatchObject({ status: 'CANCELLED', cancellationReason: 'no longer needed' });

    const fixtureDir = new URL('../../calcom/contract/webhooks/', import.meta.url);
    const names = ['booking-created.json', 'booking-rescheduled.json', 'booking-cancelled.json'];
    names.forEach((name, i) => {
      const fixture = JSON.parse(readFileSync(new URL(name, fixtureDir), 'utf8'));
      expect(Object.keys(bodies[i])).toEqual(Object.keys(fixture));
      const ours = new Set(Object.keys(bodies[i].payload));
      const core = [
        'uid',
        'bookingId',
        'eventTypeId',
        'startTime',
        'endTime',
        'status',
        'organizer',
        'attendees',
        'responses',
        'length',
        'type',
        'title',
      ];
      for (const key of core) expect(ours.has(key) && key in fixture.payload).toBe(true);
    });
  });

  it('are dropped on request, and sign with no-secret-provided without a secret', async () => {
    await call(sb.baseUrl, 'POST', '/webhooks', {
      body: { subscriberUrl: receiverUrl, triggers: ['BOOKING_CREATED'], active: true },
    });
    sb.control.setWebhookDrop({ count: 1 });
    await call(sb.baseUrl, 'POST', '/bookings', {
      body: { start: at(11), eventTypeId: 102, attendee: attendee() },
    });
    await call(sb.baseUrl, 'POST', '/bookings', {
      body: { start: at(12), eventTypeId: 102, attendee: attendee() },
    });
    await sb.control.flushWebhooks();
    expect(received).toHaveLength(1);
    expect(received[0]?.headers['x-cal-signature-256']).toBe('no-secret-provided');
    expect(sb.control.state().deliveries).toHaveLength(2);
  });
});

describe("event types that need the host's confirmation", () => {
  /** Alex's haircut (102) with a confirmation policy. */
  const withPolicy = (policy: SandboxConfirmationPolicy) => {
    const eventType = sb.control.state().eventTypes as SandboxEventType[];
    sb.control.addEventType({
      ...(eventType.find((e) => e.id === 102) as SandboxEventType),
      confirmationPolicy: policy,
    });
  };
  const book = async (hour: number) =>
    (
      await call(sb.baseUrl, 'POST', '/bookings', {
        body: { start: at(hour), eventTypeId: 102, attendee: attendee() },
      })
    ).body.data;

  it('make pending bookings (BOOKING_REQUESTED); the host confirms (BOOKING_CREATED) or declines (BOOKING_REJECTED)', async () => {
    withPolicy({ type: 'always', blockUnconfirmedBookingsInBooker: false });
    await call(sb.baseUrl, 'POST', '/webhooks', {
      body: {
        subscriberUrl: receiverUrl,
        triggers: ['BOOKING_REQUESTED', 'BOOKING_CREATED', 'BOOKING_REJECTED'],
        active: true,
        secret: 'test-webhook-secret',
      },
    });
    const first = await book(9);
    expect(first.status).toBe('pending');
    // Unconfirmed bookings do not block the host's time here: the same slot is requested again.
    const second = await book(9);
    expect(second.status).toBe('pending');
    sb.control.confirmBookingDirect(first.uid);
    sb.control.declineBookingDirect(second.uid, 'Double-booked');
    expect(() => sb.control.confirmBookingDirect(second.uid)).toThrow(/not pending/);
    await sb.control.flushWebhooks();
    const bodies = received.map((r) => JSON.parse(r.raw.toString('utf8')));
    expect(bodies.map((b) => [b.triggerEvent, b.payload.uid, b.payload.status])).toEqual([
      ['BOOKING_REQUESTED', first.uid, 'PENDING'],
      ['BOOKING_REQUESTED', second.uid, 'PENDING'],
      ['BOOKING_CREATED', first.uid, 'ACCEPTED'],
      ['BOOKING_REJECTED', second.uid, 'REJECTED'],
    ]);
    expect(bodies.every((b) => b.payload.requiresConfirmation === true)).toBe(true);
    expect(bodies[3].payload.rejectionReason).toBe('Double-booked');
    // Confirmed, the first blocks the slot.
    expect(
      (
        await call(sb.baseUrl, 'POST', '/bookings', {
          body: { start: at(9), eventTypeId: 102, attendee: attendee() },
        })
      ).status,
    ).toBe(400);
    // A declined booking can still be cancelled, as in Cal.com (whose cancel refuses only a booking
    // already cancelled); a second cancel is refused.
    const cancel = () =>
      call(sb.baseUrl, 'POST', `/bookings/${second.uid}/cancel`, {
        body: { cancellationReason: 'Not needed' },
      });
    const cancelled = await cancel();
    expect([cancelled.status, cancelled.body.data.status]).toEqual([200, 'cancelled']);
    expect((await cancel()).status).toBe(400);
  });

  it('with a notice threshold, ask for confirmation only of bookings made closer to their start', async () => {
    withPolicy({
      type: 'time',
      noticeThreshold: { unit: 'hours', count: 1 },
      blockUnconfirmedBookingsInBooker: true,
    });
    expect((await book(9)).status).toBe('accepted');
    // The test's day is at most a week ahead: within a notice of 400 hours.
    withPolicy({
      type: 'time',
      noticeThreshold: { unit: 'hours', count: 400 },
      blockUnconfirmedBookingsInBooker: true,
    });
    expect((await book(10)).status).toBe('pending');
    // Here an unconfirmed booking blocks the host's time.
    const again = await call(sb.baseUrl, 'POST', '/bookings', {
      body: { start: at(10), eventTypeId: 102, attendee: attendee() },
    });
    expect(again.status).toBe(400);
  });
});

describe('faults', () => {
  it('fail the next N calls of an operation with a status and Cal.com body', async () => {
    sb.control.injectFault({ operation: 'me.get', status: 503, count: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(sb.baseUrl, 'GET', '/me')).status);
    expect(statuses).toEqual([503, 503, 200]);
  });

  it('apply the operation and lose the answer with afterEffect', async () => {
    sb.control.injectFault({ operation: 'bookings.create', status: 502, afterEffect: true });
    const lost = await call(sb.baseUrl, 'POST', '/bookings', {
      body: { start: at(13), eventTypeId: 102, attendee: attendee() },
    });
    expect(lost.status).toBe(502);
    expect(sb.control.bookings()).toHaveLength(1);
  });

  it('hang a call until the client gives up with timeout', async () => {
    sb.control.injectFault({ operation: 'me.get', timeout: true });
    const started = Date.now();
    await expect(
      fetch(`${sb.baseUrl}/me`, {
        headers: { authorization: 'Bearer cal_test_sandbox_demo_key' },
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    // A call with a body, read in full before the fault hangs it, is logged too when the client gives up.
    sb.control.injectFault({ operation: 'bookings.create', timeout: true });
    await expect(
      fetch(`${sb.baseUrl}/bookings`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer cal_test_sandbox_demo_key',
          'cal-api-version': '2024-08-13',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ start: at(11), eventTypeId: 102, attendee: attendee() }),
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    const logged = async () =>
      sb.control
        .requests()
        .filter((r) => r.status === 0)
        .map((r) => r.operation);
    for (let i = 0; i < 100 && (await logged()).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await logged()).toEqual(['me.get', 'bookings.create']);
  });

  it('are driven over HTTP too, with validation', async () => {
    const bad = await fetch(`${sb.origin}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"operation":"nope"}',
    });
    expect(bad.status).toBe(400);
    const ok = await fetch(`${sb.origin}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: '*', status: 500, count: 1 }),
    });
    expect(ok.status).toBe(200);
    const hit = await call(sb.baseUrl, 'GET', '/me');
    expect(hit.status).toBe(500);
    expect(hit.body).toEqual({ statusCode: 500, message: 'Internal server error' });
    const log = (await (await fetch(`${sb.origin}/_sandbox/requests`)).json()) as {
      requests: Array<{ status: number; keyFingerprint: string }>;
    };
    expect(log.requests.at(-1)?.status).toBe(500);
    expect(JSON.stringify(log)).not.toContain('cal_test_sandbox_demo_key');
  });
});

describe('the control API', () => {
  it('lists every booking ever made, cancelled and rescheduled-away ones included', async () => {
    const first = await call(sb.baseUrl, 'POST', '/bookings', {
      body: { start: at(14), eventTypeId: 103, attendee: attendee(), metadata: { calgateId: 'apt_kept' } },
    });
    const moved = await call(sb.baseUrl, 'POST', `/bookings/${first.body.data.uid}/reschedule`, {
      body: { start: at(15) },
    });
    await call(sb.baseUrl, 'POST', `/bookings/${moved.body.data.uid}/cancel`, {
      body: { cancellationReason: 'changed my mind' },
    });
    const all = sb.control.bookings();
    expect(all.map((b) => [b.uid, b.status, b.rescheduledFromUid])).toEqual([
      [first.body.data.uid, 'cancelled', null],
      [moved.body.data.uid, 'cancelled', first.body.data.uid],
    ]);
    expect(all.every((b) => b.metadata.calgateId === 'apt_kept')).toBe(true);
  });
});
