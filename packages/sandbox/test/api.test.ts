import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from '../src/index.ts';
import { attendee, call, nextWorkday } from './helpers.ts';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(async () => {
  await sb.close();
});
beforeEach(() => sb.control.reset());

const day = nextWorkday();
/** 10:00 Europe/Berlin on `day` (the demo salon opens 09:00-18:00 Berlin). */
const berlin = (hhmm: string) => {
  const probe = new Date(`${day}T12:00:00Z`);
  const offset =
    new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'longOffset' })
      .formatToParts(probe)
      .find((p) => p.type === 'timeZoneName')
      ?.value.replace('GMT', '') || '+00:00';
  return new Date(`${day}T${hhmm}:00${offset}`).toISOString();
};

describe('slots', () => {
  it('follow the host working hours in the host zone, on the event type grid', async () => {
    const { status, body } = await call(sb.baseUrl, 'GET', '/slots', {
      query: { eventTypeId: '102', start: day, end: day, timeZone: 'Europe/Berlin' },
    });
    expect(status).toBe(200);
    const slots = body.data[day] as Array<{ start: string }>;
    expect(slots[0]?.start).toMatch(/T09:00:00\.000\+0[12]:00$/);
    expect(slots.at(-1)?.start).toMatch(/T17:30:00\.000\+0[12]:00$/);
    expect(slots).toHaveLength(35);
  });

  it('answer in the requested zone and with ranges on request', async () => {
    const { body } = await call(sb.baseUrl, 'GET', '/slots', {
      query: { eventTypeId: '102', start: day, end: day, timeZone: 'America/New_York', format: 'range' },
    });
    const first = (Object.values(body.data)[0] as Array<{ start: string; end: string }>)[0];
    expect(first?.start).toMatch(/-0[45]:00$/);
    expect(Date.parse(first?.end ?? '') - Date.parse(first?.start ?? '')).toBe(30 * 60_000);
  });

  it('hide times when the host is busy with any of their event types', async () => {
    const booked = await call(sb.baseUrl, 'POST', '/bookings', {
      body: { start: berlin('10:00'), eventTypeId: 202, attendee: attendee() },
    });
    expect(booked.status).toBe(201);
    const { body } = await call(sb.baseUrl, 'GET', '/slots', {
      query: { eventTypeId: '102', start: day, end: day, timeZone: 'UTC' },
    });
    const starts = (body.data[day] as Array<{ start: string }>).map((s) => Date.parse(s.start));
    const tenBerlin = Date.parse(berlin('10:00'));
    // The 45-minute colour booking blocks 09:45 (overlap), 10:00, 10:15, 10:30 for a 30-minute haircut.
    for (const blocked of [-15, 0, 15, 30]) expect(starts).not.toContain(tenBerlin + blocked * 60_000);
    expect(starts).toContain(tenBerlin + 45 * 60_000);
    const other = await call(sb.baseUrl, 'GET', '/slots', {
      query: { eventTypeId: '103', start: day, end: day, timeZone: 'UTC' },
    });
    expect((other.body.data[day] as Array<{ start: string }>).map((s) => Date.parse(s.start))).toContain(
      tenBerlin,
    );
  });

  it('reject an unknown event type and a bad zone', async () => {
    const missing = await call(sb.baseUrl, 'GET', '/slots', {
      query: { eventTypeId: '9', start: day, end: day },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('Event type with id 9 not found.');
    const zone = await call(sb.baseUrl, 'GET', '/slots', {
      query: { eventTypeId: '102', start: day, end: day, timeZone: 'Mars/Base' },
    });
    expect(zone.status).toBe(400);
  });
});

describe('bookings', () => {
  const create = (start: string, extra: Record<string, unknown> = {}) =>
    call(sb.baseUrl, 'POST', '/bookings', {
      body: { start, eventTypeId: 102, attendee: attendee(), ...extra },
    });

  it('create, get and list with metadata that comes back', async () => {
    const created = await create(berlin('11:00'), { metadata: { calgateId: 'apt_1' } });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      status: 'accepted',
      eventTypeId: 102,
      metadata: { calgateId: 'apt_1' },
    });
    expect(created.body.data.uid).toMatch(/^[A-Za-z0-9]{22}$/);
    const got = await call(sb.baseUrl, 'GET', `/bookings/${created.body.data.uid}`);
    expect(got.body.data.id).toBe(created.body.data.id);
    const list = await call(sb.baseUrl, 'GET', '/bookings', {
      query: { attendeeEmail: 'ADA@example.org', eventTypeIds: '102,103', afterStart: berlin('10:59') },
    });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.pagination).toMatchObject({ totalItems: 1, returnedItems: 1, hasNextPage: false });
  });

  it('reject unknown fields the way Cal.com does', async () => {
    for (const extra of [
      { end: berlin('11:30') },
      { timeZone: 'UTC' },
      { responses: {} },
      { noEmail: true },
    ]) {
      const { status, body } = await create(berlin('11:00'), extra);
      expect(status).toBe(400);
      expect(body.error.message).toMatch(/should not exist/);
    }
    expect(sb.control.bookings()).toHaveLength(0);
  });

  it('answer 400 for a taken slot and outside working hours', async () => {
    expect((await create(berlin('12:00'))).status).toBe(201);
    const taken = await create(berlin('12:00'));
    expect(taken.status).toBe(400);
    expect(taken.body.message).toMatch(/already has booking at this time or is not available/);
    expect((await create(berlin('20:00'))).status).toBe(400);
    expect((await create(berlin('12:07'))).status).toBe(400);
  });

  it('let exactly one of two simultaneous creates for a slot win, the other 409', async () => {
    sb.control.setLatency(50);
    const results = await Promise.all([create(berlin('13:00')), create(berlin('13:00'))]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)?.body.error.code).toBe('booking_conflict_error');
    expect(sb.control.bookings()).toHaveLength(1);
  });

  it('reschedule to a new uid and cancel the old booking', async () => {
    const created = await create(berlin('14:00'));
    const uid = created.body.data.uid;
    const moved = await call(sb.baseUrl, 'POST', `/bookings/${uid}/reschedule`, {
      body: { start: berlin('15:00'), reschedulingReason: 'later' },
    });
    expect(moved.status).toBe(201);
    expect(moved.body.data.uid).not.toBe(uid);
    expect(moved.body.data.rescheduledFromUid).toBe(uid);
    const old = await call(sb.baseUrl, 'GET', `/bookings/${uid}`);
    expect(old.body.data).toMatchObject({ status: 'cancelled', rescheduledToUid: moved.body.data.uid });
    const again = await call(sb.baseUrl, 'POST', `/bookings/${uid}/reschedule`, {
      body: { start: berlin('16:00') },
    });
    expect(again.status).toBe(400);
  });

  it('cancel with a reason, and refuse a second cancel as already cancelled', async () => {
    const created = await create(berlin('16:00'));
    const uid = created.body.data.uid;
    expect((await call(sb.baseUrl, 'POST', `/bookings/${uid}/cancel`, { body: {} })).status).toBe(400);
    const cancelled = await call(sb.baseUrl, 'POST', `/bookings/${uid}/cancel`, {
      body: { cancellationReason: 'ill' },
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.data.status).toBe('cancelled');
    const twice = await call(sb.baseUrl, 'POST', `/bookings/${uid}/cancel`, {
      body: { cancellationReason: 'ill' },
    });
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toMatch(/cancelled already/);
    expect((await call(sb.baseUrl, 'GET', '/bookings/nope')).status).toBe(404);
  });

  it('keep accounts apart and refuse bad keys and wrong versions', async () => {
    const created = await create(berlin('09:00'));
    const stranger = await call(sb.baseUrl, 'GET', `/bookings/${created.body.data.uid}`, {
      key: 'cal_test_sandbox_casey',
    });
    expect(stranger.status).toBe(404);
    expect((await call(sb.baseUrl, 'GET', '/bookings', { key: 'cal_wrong' })).status).toBe(401);
    expect((await call(sb.baseUrl, 'GET', '/bookings', { key: null })).status).toBe(401);
    expect((await call(sb.baseUrl, 'GET', '/bookings', { version: null })).status).toBe(404);
  });
});

describe('reservations', () => {
  it('hide the slot from others and conflict with 422', async () => {
    const first = await call(sb.baseUrl, 'POST', '/slots/reservations', {
      body: { eventTypeId: 102, slotStart: berlin('10:00') },
    });
    expect(first.status).toBe(201);
    expect(first.body.data.reservationDuration).toBe(5);
    const second = await call(sb.baseUrl, 'POST', '/slots/reservations', {
      key: 'cal_test_sandbox_casey',
      body: { eventTypeId: 102, slotStart: berlin('10:00') },
    });
    expect(second.status).toBe(422);
    const slots = await call(sb.baseUrl, 'GET', '/slots', {
      key: null,
      query: { eventTypeId: '102', start: day, end: day, timeZone: 'UTC' },
    });
    expect((slots.body.data[day] as Array<{ start: string }>).map((s) => Date.parse(s.start))).not.toContain(
      Date.parse(berlin('10:00')),
    );
    const removed = await call(sb.baseUrl, 'DELETE', `/slots/reservations/${first.body.data.reservationUid}`);
    expect(removed.status).toBe(200);
  });

  const slotStarts = async (eventTypeId: string, key?: string | null) => {
    const { body } = await call(sb.baseUrl, 'GET', '/slots', {
      ...(key === undefined ? {} : { key }),
      query: { eventTypeId, start: day, end: day, timeZone: 'UTC' },
    });
    return ((body.data[day] ?? []) as Array<{ start: string }>).map((s) => Date.parse(s.start));
  };

  it("hide the slot from the caller who reserved it too, and from the host's other event types", async () => {
    const reserved = await call(sb.baseUrl, 'POST', '/slots/reservations', {
      body: { eventTypeId: 102, slotStart: berlin('11:00') },
    });
    expect(reserved.status).toBe(201);
    expect(await slotStarts('102')).not.toContain(Date.parse(berlin('11:00')));
    // Colour with the same stylist (202) overlaps 11:00 from 10:30 on; Billie's haircut (103) does not.
    expect(await slotStarts('202')).not.toContain(Date.parse(berlin('10:30')));
    expect(await slotStarts('103')).toContain(Date.parse(berlin('11:00')));
  });

  it('are neither checked nor consumed by a booking, as in Cal.com', async () => {
    const reserved = await call(sb.baseUrl, 'POST', '/slots/reservations', {
      body: { eventTypeId: 102, slotStart: berlin('12:00'), reservationDuration: 10 },
    });
    const uid = reserved.body.data.reservationUid as string;
    expect(reserved.body.data.reservationDuration).toBe(10);
    const booked = await call(sb.baseUrl, 'POST', '/bookings', {
      key: 'cal_test_sandbox_casey',
      body: { start: berlin('12:00'), eventTypeId: 102, attendee: attendee() },
    });
    expect(booked.status).toBe(201);
    const still = await call(sb.baseUrl, 'GET', `/slots/reservations/${uid}`);
    expect(still.status).toBe(200);
    expect(still.body.data.reservationUid).toBe(uid);
    // Now the event type is booked at that time: a new reservation there is refused.
    const again = await call(sb.baseUrl, 'POST', '/slots/reservations', {
      body: { eventTypeId: 102, slotStart: berlin('12:00') },
    });
    expect(again.status).toBe(422);
    expect(again.body.error.message).toMatch(/already booked/);
  });

  it('check only their own event type, answer an unknown uid with data null, and delete idempotently', async () => {
    await call(sb.baseUrl, 'POST', '/bookings', {
      body: { start: berlin('13:00'), eventTypeId: 202, attendee: attendee() },
    });
    // Cal.com does not look at the host's other event types (the gateway checks availability first).
    const otherType = await call(sb.baseUrl, 'POST', '/slots/reservations', {
      body: { eventTypeId: 102, slotStart: berlin('13:00') },
    });
    expect(otherType.status).toBe(201);
    // An update is checked against every live reservation of the event type, its own included.
    const update = await call(
      sb.baseUrl,
      'PATCH',
      `/slots/reservations/${otherType.body.data.reservationUid}`,
      {
        body: { eventTypeId: 102, slotStart: berlin('13:00'), reservationDuration: 7 },
      },
    );
    expect(update.status).toBe(422);
    const unknown = await call(sb.baseUrl, 'GET', '/slots/reservations/no-such-uid');
    expect(unknown.status).toBe(200);
    expect(unknown.body.data).toBeNull();
    for (const uid of [
      otherType.body.data.reservationUid,
      otherType.body.data.reservationUid,
      'no-such-uid',
    ]) {
      expect((await call(sb.baseUrl, 'DELETE', `/slots/reservations/${uid}`)).status).toBe(200);
    }
    expect(sb.control.state().reservations).toEqual([]);
  });
});

describe('latency', () => {
  const ask = () =>
    call(sb.baseUrl, 'GET', '/slots', {
      query: { eventTypeId: '102', start: day, end: day, timeZone: 'Europe/Berlin' },
    });

  it('is none unless set, and each call logs how long the sandbox took to answer', async () => {
    const since = Date.now();
    expect((await ask()).status).toBe(200);
    // A latency far above what a plain call takes, even on a busy machine.
    sb.control.setLatency(1_000);
    const before = performance.now();
    expect((await ask()).status).toBe(200);
    const [plain, slow] = sb.control.requests(since).filter((r) => r.operation === 'slots.get');
    expect(slow?.ms).toBeGreaterThanOrEqual(1_000);
    expect(plain?.ms).toBeLessThan(1_000);
    expect(slow?.startedAt).toBeGreaterThanOrEqual(before);
    expect(slow?.startedAt).toBeLessThanOrEqual(performance.now() - 1_000);
  });
});

describe('the request log', () => {
  it('names the booking a create made, so a call can be told apart from concurrent ones', async () => {
    const since = Date.now();
    const created = await call(sb.baseUrl, 'POST', '/bookings', {
      body: { start: berlin('16:00'), eventTypeId: 102, attendee: attendee() },
    });
    expect(created.status).toBe(201);
    const [entry] = sb.control.requests(since).filter((r) => r.operation === 'bookings.create');
    expect(entry?.createdUid).toBe(created.body.data.uid);
  });
});
