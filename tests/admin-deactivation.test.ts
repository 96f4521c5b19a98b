import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, startGateway, testDay } from './support/gateway.ts';

const ADMIN = { username: 'operator', password: 'operator-password-42' };
const operator = {
  authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`,
};

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password } });
});
afterAll(async () => {
  await gw.close();
});

const day = testDay();
const customer = (email: string) => ({ name: 'Dana Kim', email });

async function book(serviceId: string, start: string, extra: Record<string, unknown> = {}) {
  return gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, { prefer: 'wait=20' }),
    payload: {
      serviceId,
      start,
      timeZone: 'Europe/Berlin',
      customer: customer('dana@example.org'),
      ...extra,
    },
  });
}

async function admin(method: 'PATCH' | 'DELETE', url: string, payload?: object) {
  const res = await gw.app.inject({
    method,
    url: `/api/admin/v1/companies/${gw.company.companyId}${url}`,
    headers: operator,
    ...(payload === undefined ? {} : { payload }),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('deactivating a staff member and services', () => {
  let haircut: string;
  let composite: string;
  let alex: string;
  let simpleBooking: string;
  let compositeBooking: string;

  beforeAll(async () => {
    haircut = gw.company.serviceIds[0] as string;
    composite = gw.company.serviceIds[2] as string;
    alex = gw.company.staffIds[0] as string;
    const simple = await book(haircut, berlin(day, '10:00'), { staffId: alex });
    expect(simple.statusCode, simple.body).toBe(201);
    simpleBooking = simple.json().id;
    const two = await book(composite, berlin(day, '12:00'));
    expect(two.statusCode, two.body).toBe(201);
    compositeBooking = two.json().id;

    expect(await admin('DELETE', `/staff/${alex}`)).toMatchObject({ active: false });
    expect(await admin('DELETE', `/services/${haircut}`)).toMatchObject({ active: false });
    expect(await admin('DELETE', `/services/${composite}`)).toMatchObject({ active: false });
  });

  it('still reads the existing appointments, with their staff member', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/bookings/${simpleBooking}`,
      headers: auth(gw.company.token),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'confirmed', staff: { id: alex, name: 'Alex' } });
  });

  it('refuses new bookings and availability of a deactivated service with a clear error', async () => {
    const res = await book(haircut, berlin(day, '16:00'));
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({
      code: 'SERVICE_NOT_FOUND',
      details: { field: 'serviceId', reason: 'inactive' },
    });
    expect(res.json().error.message).toContain('is deactivated and takes no new bookings');
    const slots = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${haircut}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      headers: auth(gw.company.token),
    });
    expect(slots.statusCode).toBe(404);
    const listed = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/services',
      headers: auth(gw.company.token),
    });
    expect(listed.json().services.map((s: { id: string }) => s.id)).not.toContain(haircut);
  });

  it('reschedules the existing simple appointment with its deactivated staff member', async () => {
    const res = await gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${simpleBooking}`,
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: { start: berlin(day, '15:00'), timeZone: 'Europe/Berlin' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'confirmed',
      start: berlin(day, '15:00'),
      staff: { name: 'Alex' },
    });
  });

  it('reschedules the existing composite appointment of a deactivated service', async () => {
    const res = await gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${compositeBooking}`,
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: { start: berlin(day, '09:00'), timeZone: 'Europe/Berlin' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'confirmed', start: berlin(day, '09:00') });
  });

  it('cancels both existing appointments in Cal.com', async () => {
    for (const id of [simpleBooking, compositeBooking]) {
      const res = await gw.app.inject({
        method: 'DELETE',
        url: `/api/v2/bookings/${id}`,
        headers: auth(gw.company.token, { prefer: 'wait=20' }),
        payload: { cancellationReason: 'salon closed' },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe('cancelled');
    }
    // Every booking made so far (the simple one and its reschedule, the composite's two segments
    // booked and moved) is cancelled in Cal.com.
    const all = gw.sandbox.control.bookings();
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(all.filter((b) => b.status === 'accepted')).toEqual([]);
  });

  it('books a reactivated service with the remaining staff only', async () => {
    expect(await admin('PATCH', `/services/${haircut}`, { active: true })).toMatchObject({ active: true });
    const withAlex = await book(haircut, berlin(day, '16:00'), { staffId: alex });
    expect(withAlex.statusCode).toBe(404);
    expect(withAlex.json().error).toMatchObject({ code: 'STAFF_NOT_FOUND', details: { field: 'staffId' } });
    const anyone = await book(haircut, berlin(day, '16:00'));
    expect(anyone.statusCode, anyone.body).toBe(201);
    expect(anyone.json()).toMatchObject({ status: 'confirmed', staff: { name: 'Billie' } });
  });
});
