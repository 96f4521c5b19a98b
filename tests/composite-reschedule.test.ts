import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, queuesSettled, startGateway, testDay } from './support/gateway.ts';

/** Moving a composite appointment: a stylist the customer named comes along, and a move onto itself is named as such. */
let gw: Gateway;
let haircut: string;
let threeSegments: string;
beforeAll(async () => {
  gw = await startGateway();
  haircut = gw.company.serviceIds[0] as string;
  threeSegments = gw.company.serviceIds[1] as string;
});
afterAll(async () => {
  await gw.close();
});

const HOST_NAMES: Record<number, string> = { 2: 'Alex', 3: 'Billie' };

const book = (serviceId: string, start: string, staff: number, email: string) =>
  gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, { prefer: 'wait=20' }),
    payload: {
      serviceId,
      start,
      timeZone: 'Europe/Berlin',
      staffId: gw.company.staffIds[staff],
      customer: { name: 'Composite Mover', email },
    },
  });
const move = (id: string, start: string) =>
  gw.app.inject({
    method: 'PATCH',
    url: `/api/v2/bookings/${id}`,
    headers: auth(gw.company.token, { prefer: 'wait=20' }),
    payload: { start, timeZone: 'Europe/Berlin' },
  });
const liveHosts = (id: string) =>
  gw.sandbox.control
    .bookings()
    .filter((b) => b.metadata.calgateAppointmentId === id && b.status === 'accepted')
    .map((b) => HOST_NAMES[b.hostId]);

describe('rescheduling a composite appointment booked with a named stylist', () => {
  it('keeps that stylist: a time only another one has free is refused, unchanged', async () => {
    const day = testDay();
    const booked = await book(threeSegments, berlin(day, '09:00'), 0, 'keeps-alex@example.org');
    expect(booked.statusCode, booked.body).toBe(201);
    const id = booked.json().id as string;
    // Alex is busy from 14:00 to 16:00; Billie is free then.
    for (const at of ['14:00', '14:30', '15:00', '15:30']) {
      expect(
        (await book(haircut, berlin(day, at), 0, `alex-${at.replace(':', '')}@example.org`)).statusCode,
      ).toBe(201);
    }
    const refused = await move(id, berlin(day, '14:00'));
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'SLOT_UNAVAILABLE', details: { unchanged: true } });
    expect(liveHosts(id)).toEqual(['Alex', 'Alex', 'Alex']);

    const moved = await move(id, berlin(day, '16:00'));
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({
      status: 'confirmed',
      start: berlin(day, '16:00'),
      staff: { name: 'Alex' },
    });
    await queuesSettled(gw);
    expect(liveHosts(id)).toEqual(['Alex', 'Alex', 'Alex']);
  });

  it('moves one booked for any stylist to whoever is free, and says who it is with now', async () => {
    const day = testDay();
    const booked = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: {
        serviceId: threeSegments,
        start: berlin(day, '09:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Anyone Will Do', email: 'anyone@example.org' },
      },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const id = booked.json().id as string;
    const first = booked.json().staff.name as string;
    const other = first === 'Alex' ? 1 : 0;
    const mine = first === 'Alex' ? 0 : 1;
    // The stylist it is with is busy from 14:00 to 16:00; the other one is free.
    for (const at of ['14:00', '14:30', '15:00', '15:30']) {
      expect(
        (await book(haircut, berlin(day, at), mine, `busy-${at.replace(':', '')}@example.org`)).statusCode,
      ).toBe(201);
    }
    const moved = await move(id, berlin(day, '14:00'));
    expect(moved.statusCode, moved.body).toBe(200);
    const now = first === 'Alex' ? 'Billie' : 'Alex';
    expect(moved.json().staff).toMatchObject({ id: gw.company.staffIds[other], name: now });
    await queuesSettled(gw);
    expect(liveHosts(id)).toEqual([now, now, now]);
  });

  it('says a new time that overlaps the appointment itself cannot be booked before the old is released', async () => {
    const day = testDay();
    const booked = await book(threeSegments, berlin(day, '09:00'), 0, 'moves-a-little@example.org');
    expect(booked.statusCode, booked.body).toBe(201);
    const refused = await move(booked.json().id, berlin(day, '09:15'));
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'SLOT_UNAVAILABLE',
      details: { unchanged: true, overlapsItself: true },
    });
    expect(refused.json().error.message).toContain('overlaps this appointment itself');
  });
});
