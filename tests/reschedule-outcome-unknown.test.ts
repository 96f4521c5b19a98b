import { appointments } from '@calgate/db';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, queuesSettled, startGateway, testDay } from './support/gateway.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw.close();
});
afterEach(() => gw.sandbox.control.clearFaults());

async function booked(email: string): Promise<{ id: string; uid: string; day: string }> {
  const day = testDay();
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, { prefer: 'wait=20' }),
    payload: {
      serviceId: gw.company.serviceIds[0],
      staffId: gw.company.staffIds[0],
      start: berlin(day, '09:00'),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Moved Unheard', email },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id, uid: res.json().calcom.bookingUid, day };
}

const reschedule = (id: string, start: string) =>
  gw.app.inject({
    method: 'PATCH',
    url: `/api/v2/bookings/${id}`,
    headers: auth(gw.company.token, { prefer: 'wait=30' }),
    payload: { start, timeZone: 'Europe/Berlin' },
  });

const row = async (id: string) =>
  (await gw.database.db.select().from(appointments).where(eq(appointments.id, id)))[0];

describe('a reschedule whose answer never came', () => {
  it('is flagged for an operator when Cal.com cannot say whether it moved the booking', async () => {
    const { id, uid, day } = await booked('moved-unheard@example.org');
    // Cal.com moves the booking, the answer is lost, and every lookup after it fails.
    gw.sandbox.control.injectFault({
      operation: 'bookings.reschedule',
      afterEffect: true,
      status: 503,
      count: 1,
    });
    gw.sandbox.control.injectFault({ operation: 'bookings.get', status: 503, count: 1_000 });
    await reschedule(id, berlin(day, '15:00'));
    await queuesSettled(gw);
    const after = await row(id);
    expect(after?.status).toBe('confirmed');
    expect(after?.calcomBookingUid).toBe(uid);
    expect(after?.needsAttention).toBe(true);
    // Cal.com did move it: what the flag is for.
    expect(gw.sandbox.control.bookings().find((b) => b.uid === uid)?.status).toBe('cancelled');
  });

  it('is recorded as the move Cal.com made when a last lookup finds it', async () => {
    const { id, uid, day } = await booked('moved-found-late@example.org');
    gw.sandbox.control.injectFault({
      operation: 'bookings.reschedule',
      afterEffect: true,
      status: 503,
      count: 1,
    });
    // The retries' own lookups fail (one each); the one made when the job fails for good gets through.
    gw.sandbox.control.injectFault({
      operation: 'bookings.get',
      status: 503,
      count: gw.config.calcom.maxRetries,
    });
    const answer = reschedule(id, berlin(day, '15:00'));
    const res = await answer;
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'confirmed', start: berlin(day, '15:00') });
    const after = await row(id);
    expect(after?.calcomBookingUid).not.toBe(uid);
    expect(after?.needsAttention).toBe(false);
  });
});
