import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

let gw: Gateway;
let serviceId: string;
beforeAll(async () => {
  gw = await startGateway();
  // The seeded Haircut (simple, 30 min, Alex and Billie).
  serviceId = gw.company.serviceIds[0] as string;
});
afterAll(async () => {
  await gw.close();
});

const availability = (day: string, staffId?: string) =>
  gw.app.inject({
    method: 'GET',
    url: `/api/v2/services/${serviceId}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin${staffId === undefined ? '' : `&staffId=${staffId}`}`,
    headers: auth(gw.company.token),
  });

/** A confirmed haircut with Alex at `time` on `day`, booked with Prefer: wait. */
async function bookConfirmed(day: string, time: string) {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, { prefer: 'wait=30' }),
    payload: {
      serviceId,
      start: berlin(day, time),
      timeZone: 'Europe/Berlin',
      staffId: gw.company.staffIds[0],
      customer: { name: 'Priya Natarajan', email: 'priya@example.org', phone: '+4915112345678' },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; calcom: { bookingUid: string } };
}

describe('the simple booking lifecycle through the HTTP API', () => {
  it('lists the company services with their staff', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/services',
      headers: auth(gw.company.token),
    });
    expect(res.statusCode).toBe(200);
    const services = res.json().services;
    expect(services.map((s: { name: string; kind: string }) => `${s.name}:${s.kind}`)).toEqual([
      'Colour and cut:composite',
      'Colour, wash and cut:composite',
      'Haircut:simple',
    ]);
    const service = services.find((s: { name: string }) => s.name === 'Haircut');
    expect(service).toMatchObject({ kind: 'simple', durationMinutes: 30 });
    const composite = services.find((s: { name: string }) => s.name === 'Colour, wash and cut');
    expect(composite.segments.map((s: { pauseAfterMinutes: number }) => s.pauseAfterMinutes)).toEqual([
      30, 0, 0,
    ]);
    expect(composite.durationMinutes).toBe(120);
    expect(service.segments[0].staff.map((s: { name: string }) => s.name)).toEqual(['Alex', 'Billie']);
    expect(service.id).toBe(serviceId);
  });

  it('shows free slots for a one-day window in the requested zone, with staff', async () => {
    const day = testDay();
    const res = await availability(day);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.slots[0].start).toBe(berlin(day, '09:00'));
    expect(body.slots[0].staff.map((s: { name: string }) => s.name).sort()).toEqual(['Alex', 'Billie']);
    expect(body.slots.at(-1).start).toBe(berlin(day, '17:30'));
  });

  it('books with Prefer: wait and answers 201 with the confirmed appointment', async () => {
    const day = testDay();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=10', 'idempotency-key': 'life-1' }),
      payload: {
        serviceId,
        start: berlin(day, '10:00'),
        timeZone: 'Europe/Berlin',
        staffId: gw.company.staffIds[0],
        customer: { name: 'Priya Natarajan', email: 'priya@example.org', phone: '+4915112345678' },
        notes: 'first visit',
      },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ status: 'confirmed', start: berlin(day, '10:00'), staff: { name: 'Alex' } });
    expect(res.headers.location).toBe(`/api/v2/bookings/${body.id}`);
    const inCalcom = gw.sandbox.control.bookings().find((b) => b.uid === body.calcom.bookingUid);
    expect(inCalcom).toMatchObject({
      eventTypeId: HAIRCUT.alex,
      status: 'accepted',
      metadata: { calgateId: body.id },
    });
  });

  it('no longer offers the booked slot for that staff member (cache invalidated)', async () => {
    const day = testDay();
    const alex = gw.company.staffIds[0] as string;
    const before = await availability(day, alex);
    // Read once, so that the day is in the availability cache when the booking is made.
    expect(before.json().slots.map((s: { start: string }) => s.start)).toContain(berlin(day, '10:00'));
    await bookConfirmed(day, '10:00');
    const res = await availability(day, alex);
    const starts = res.json().slots.map((s: { start: string }) => s.start);
    expect(starts).not.toContain(berlin(day, '10:00'));
    expect(starts).toContain(berlin(day, '10:30'));
  });

  it('shows status, Cal.com uid and history', async () => {
    const booked = await bookConfirmed(testDay(), '10:00');
    const res = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/bookings/${booked.id}`,
      headers: auth(gw.company.token),
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.calcom.bookingUid).toBe(booked.calcom.bookingUid);
    expect(body.history.map((h: { event: string }) => h.event)).toEqual(['created', 'confirmed']);
    expect(body.customer).toMatchObject({ email: 'priya@example.org', phone: '+4915112345678' });
  });

  it('reschedules to a new Cal.com uid and keeps the history', async () => {
    const day = testDay();
    const booked = await bookConfirmed(day, '10:00');
    const firstUid = booked.calcom.bookingUid;
    const res = await gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${booked.id}`,
      headers: auth(gw.company.token, { prefer: 'wait=10' }),
      payload: { start: berlin(day, '14:00'), timeZone: 'Europe/Berlin', reason: 'customer asked' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['preference-applied']).toBe('wait=10');
    const body = res.json();
    expect(body).toMatchObject({ status: 'confirmed', start: berlin(day, '14:00') });
    expect(body.calcom.bookingUid).not.toBe(firstUid);
    expect(body.history.map((h: { event: string }) => h.event)).toEqual([
      'created',
      'confirmed',
      'reschedule_requested',
      'rescheduled',
    ]);
    const old = gw.sandbox.control.bookings().find((b) => b.uid === firstUid);
    expect(old).toMatchObject({ status: 'cancelled', rescheduledToUid: body.calcom.bookingUid });
  });

  it('cancels with a reason, and a second cancel is a no-op', async () => {
    const bookingId = (await bookConfirmed(testDay(), '10:00')).id;
    const res = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v2/bookings/${bookingId}`,
      headers: auth(gw.company.token, { prefer: 'wait=10' }),
      payload: { cancellationReason: 'feeling ill' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['preference-applied']).toBe('wait=10');
    const body = res.json();
    expect(body.status).toBe('cancelled');
    const inCalcom = gw.sandbox.control.bookings().find((b) => b.uid === body.calcom.bookingUid);
    expect(inCalcom).toMatchObject({ status: 'cancelled', cancellationReason: 'feeling ill' });
    const again = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v2/bookings/${bookingId}`,
      headers: auth(gw.company.token),
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().status).toBe('cancelled');
    expect(again.headers['preference-applied']).toBeUndefined();
  });

  it('re-runs a cancel that failed for good when the caller cancels again', async () => {
    const booked = await bookConfirmed(testDay(), '16:00');
    const cancel = (payload: Record<string, string>) =>
      gw.app.inject({
        method: 'DELETE',
        url: `/api/v2/bookings/${booked.id}`,
        // Longer than the test's own timeout: an answer that waited it out would fail the test.
        headers: auth(gw.company.token, { prefer: 'wait=30' }),
        payload,
      });
    // Cal.com refuses the cancel in a way no retry helps: the cancel fails for good, and the
    // waiting caller hears it at once (cancelling, flagged for an operator).
    gw.sandbox.control.injectFault({ operation: 'bookings.cancel', status: 401, count: 1 });
    const first = await cancel({ cancellationReason: 'moving away' });
    expect(first.statusCode, first.body).toBe(202);
    expect(first.json()).toMatchObject({ status: 'cancelling', needsAttention: true });
    const inCalcom = () => gw.sandbox.control.bookings().find((b) => b.uid === booked.calcom.bookingUid);
    expect(inCalcom()?.status).toBe('accepted');
    // Once Cal.com accepts cancels again, the caller's repeated cancel goes through, with the
    // reason given the first time.
    const again = await cancel({});
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ status: 'cancelled' });
    expect(inCalcom()).toMatchObject({ status: 'cancelled', cancellationReason: 'moving away' });
    const events = again.json().history.map((h: { event: string }) => h.event);
    expect(events.filter((e: string) => e === 'cancel_requested')).toHaveLength(2);
  }, 20_000);

  it('answers 202 with a Location without Prefer: wait, and the worker confirms it', async () => {
    const day = testDay();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token),
      payload: {
        serviceId,
        start: berlin(day, '11:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Sam', email: 'sam@example.org' },
      },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json().status).toBe('pending');
    const url = res.headers.location as string;
    const status = await eventually(async () => {
      const now = (await gw.app.inject({ method: 'GET', url, headers: auth(gw.company.token) })).json()
        .status;
      return now === 'pending' ? undefined : now;
    }, 30_000);
    expect(status).toBe('confirmed');
  });

  it('answers 202 with exactly the appointment a read shows (customer, staff, history) before the worker ran', async () => {
    // Cal.com answers slowly, so the appointment is still pending when it is read back.
    gw.sandbox.control.setLatency(1500);
    try {
      const day = testDay();
      const staffId = gw.company.staffIds[1] as string;
      const book = () =>
        gw.app.inject({
          method: 'POST',
          url: '/api/v2/bookings',
          headers: auth(gw.company.token, { 'idempotency-key': 'life-202-view' }),
          payload: {
            serviceId,
            staffId,
            start: berlin(day, '15:00'),
            timeZone: 'Europe/Berlin',
            notes: 'first visit',
            metadata: { crm: 'c-17' },
            customer: { name: 'Robin', email: 'Robin@Example.org', phone: '+4930123456' },
          },
        });
      const res = await book();
      expect(res.statusCode, res.body).toBe(202);
      const written = res.json();
      const read = await gw.app.inject({
        method: 'GET',
        url: res.headers.location as string,
        headers: auth(gw.company.token),
      });
      expect(read.json().status).toBe('pending');
      expect(written).toEqual(read.json());
      expect(written).toMatchObject({
        staff: { id: staffId, name: 'Billie' },
        customer: { name: 'Robin', email: 'Robin@Example.org', phone: '+4930123456' },
        notes: 'first visit',
        metadata: { crm: 'c-17' },
        history: [{ event: 'created', from: null, to: 'pending', actor: 'api' }],
      });
      // The key replays the same appointment.
      const again = await book();
      expect(again.json().id).toBe(written.id);
      expect(again.headers['idempotent-replayed']).toBe('true');
    } finally {
      gw.sandbox.control.setLatency(0);
    }
  });
});
