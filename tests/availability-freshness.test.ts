import { reconcileBookings } from '@calgate/domain';
import { dstChange } from '@calgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, queuesSettled, startGateway, testDay } from './support/gateway.ts';

/**
 * Availability stays true to Cal.com after changes that do not go through a simple booking (a
 * composite cancelled, a segment moved in Cal.com), across the night the clocks go back, and up
 * to the horizon bookings share with availability.
 */
let gw: Gateway;
let haircut: string;
let threeSegments: string;
beforeAll(async () => {
  // A horizon long enough that the next autumn change of the clocks is always inside it.
  gw = await startGateway({ env: { AVAILABILITY_MAX_DAYS_AHEAD: '800' } });
  haircut = gw.company.serviceIds[0] as string;
  threeSegments = gw.company.serviceIds[1] as string;
});
afterAll(async () => {
  await gw.close();
});

const availability = (serviceId: string, start: string, end: string, timeZone = 'Europe/Berlin') =>
  gw.app.inject({
    method: 'GET',
    url: `/api/v2/services/${serviceId}/availability?start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}&timeZone=${timeZone}`,
    headers: auth(gw.company.token),
  });
const staffAt = (slots: Array<{ start: string; staff: Array<{ name: string }> }>, start: string) =>
  slots.find((s) => s.start === start)?.staff.map((s) => s.name) ?? [];

/** The three-segment service with Alex, waiting for the outcome. */
const compositeWithAlex = (start: string, email: string) =>
  gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, { prefer: 'wait=20' }),
    payload: {
      serviceId: threeSegments,
      start,
      timeZone: 'Europe/Berlin',
      staffId: gw.company.staffIds[0],
      customer: { name: 'Composite Customer', email },
    },
  });

describe('composite cancel frees the stylist for other services at once', () => {
  it("shows Alex free again for a haircut right after Alex's composite appointment is cancelled", async () => {
    const day = testDay();
    const before = await availability(haircut, day, day);
    expect(staffAt(before.json().slots, berlin(day, '10:00'))).toEqual(['Alex', 'Billie']);
    const booked = await compositeWithAlex(berlin(day, '10:00'), 'comp-cancel@example.org');
    expect(booked.statusCode).toBe(201);
    // Alex is busy 10:00-10:45 (colour): the haircut at 10:00 is Billie's only.
    const during = await availability(haircut, day, day);
    expect(staffAt(during.json().slots, berlin(day, '10:00'))).toEqual(['Billie']);
    const cancelled = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v2/bookings/${booked.json().id}`,
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: { cancellationReason: 'changed plans' },
    });
    expect(cancelled.json().status).toBe('cancelled');
    await queuesSettled(gw);
    // Cal.com has Alex free again at 10:00 ...
    const inCalcom = gw.sandbox.control
      .bookings()
      .filter((b) => b.metadata.calgateAppointmentId === booked.json().id);
    expect(inCalcom.every((b) => b.status === 'cancelled')).toBe(true);
    // ... and so should the gateway (the cache TTL is 300 s).
    const after = await availability(haircut, day, day);
    expect(staffAt(after.json().slots, berlin(day, '10:00'))).toEqual(['Alex', 'Billie']);
  });
});

describe('a composite segment moved in Cal.com', () => {
  it("updates the stylist's availability for the old and the new time", async () => {
    const day = testDay();
    const booked = await compositeWithAlex(berlin(day, '09:00'), 'moved-segment@example.org');
    expect(booked.statusCode).toBe(201);
    const before = await availability(haircut, day, day);
    expect(staffAt(before.json().slots, berlin(day, '16:00'))).toEqual(['Alex', 'Billie']);
    expect(staffAt(before.json().slots, berlin(day, '10:45'))).toEqual(['Billie']);
    // The salon moves the blow-dry (10:45-11:00) to 16:00 in Cal.com; the gateway learns it.
    const blowDry = gw.sandbox.control
      .bookings()
      .filter((b) => b.metadata.calgateAppointmentId === booked.json().id)
      .sort((x, y) => x.start - y.start)[2];
    gw.sandbox.control.rescheduleBookingDirect(blowDry?.uid as string, berlin(day, '16:00'), true);
    await reconcileBookings(gw.runtime(), gw.company.companyId);
    await queuesSettled(gw);
    const calcom = await fetch(
      `${gw.sandbox.baseUrl}/slots?eventTypeId=102&start=${day}&end=${day}&timeZone=UTC`,
      { headers: { 'cal-api-version': '2024-09-04', authorization: 'Bearer cal_test_sandbox_demo_key' } },
    );
    const slotsBody = (await calcom.json()) as { data: Record<string, Array<{ start: string }>> };
    const calcomStarts = Object.values(slotsBody.data)
      .flat()
      .map((s) => Date.parse(s.start));
    expect(calcomStarts).not.toContain(Date.parse(berlin(day, '16:00')));
    expect(calcomStarts).toContain(Date.parse(berlin(day, '10:45')));
    const after = await availability(haircut, day, day);
    // Cal.com: Alex is busy at 16:00 now, and free at 10:45.
    expect(staffAt(after.json().slots, berlin(day, '16:00'))).toEqual(['Billie']);
    expect(staffAt(after.json().slots, berlin(day, '10:45'))).toEqual(['Alex', 'Billie']);
  });
});
describe('window length across a DST change', () => {
  it('accepts 31 whole local days (e.g. all of October) even when the clocks go back inside them', async () => {
    let change = dstChange();
    // Only the autumn change makes a local day 25 hours long.
    while (change.offsetBefore !== '+02:00') change = dstChange();
    const sunday = new Date(`${change.sunday}T00:00:00Z`);
    const first = new Date(sunday.getTime() - 15 * 86_400_000).toISOString().slice(0, 10);
    const last = new Date(sunday.getTime() + 15 * 86_400_000).toISOString().slice(0, 10);
    // first..last is 31 calendar days.
    const res = await availability(haircut, first, last);
    expect(res.json().error?.message).toBeUndefined();
    expect(res.statusCode).toBe(200);
  });
});
describe('how far ahead a booking may be', () => {
  it('refuses a booking beyond the availability horizon, as availability does, naming start', async () => {
    const far = new Date(Date.now() + 3 * 365 * 86_400_000);
    // Availability and bookings share the horizon (800 days here).
    const day = far.toISOString().slice(0, 10);
    const window = await availability(haircut, day, day);
    expect(window.statusCode).toBe(400);
    expect(window.json().error.details.field).toBe('end');
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token),
      payload: {
        serviceId: haircut,
        start: `${day}T10:00:00Z`,
        timeZone: 'Europe/Berlin',
        customer: { name: 'F', email: 'far@example.org' },
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.field).toBe('start');
  });
});
