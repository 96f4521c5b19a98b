import { reconcileNow, registerWebhooksNow, syncEventTypesNow } from '@calgate/cli/operations';
import { companyScopeEdit } from '@calgate/cli/tenancy';
import { appointments, customers } from '@calgate/db';
import { seedCompany } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

let gw: Gateway;
const ops = () => ({ runtime: gw.runtime(), out: () => undefined });
beforeAll(async () => {
  gw = await startGateway({ listen: true });
  expect(await registerWebhooksNow(ops(), gw.company.companyId)).toBe(0);
});
afterAll(async () => {
  await gw.close();
});

async function bookAlex(email: string, time: string): Promise<{ id: string; uid: string; day: string }> {
  const day = testDay();
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, { prefer: 'wait=20' }),
    payload: {
      serviceId: gw.company.serviceIds[0],
      staffId: gw.company.staffIds[0],
      start: berlin(day, time),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Ari Before', email },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id, uid: res.json().calcom.bookingUid, day };
}

describe('an event type that moved to another company of the shared account', () => {
  it("keeps the bookings its old owner made: a move in Cal.com is A's, never B's", async () => {
    const b = await seedCompany(gw.database.db, {
      name: 'Salon B',
      staff: [{ name: 'Alex at B', calcomUserId: 2 }],
      services: [
        {
          name: 'B cut',
          segments: [
            { name: 'Cut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: HAIRCUT.alex }] },
          ],
        },
      ],
    });
    // A books on Alex's event type twice, then the event type moves from A to B.
    const byWebhook = await bookAlex('moved-by-webhook@example.org', '09:00');
    const byReconcile = await bookAlex('moved-by-reconcile@example.org', '11:00');
    await companyScopeEdit(ops(), gw.company.companyId, { assign: [], unassign: [HAIRCUT.alex] });
    await companyScopeEdit(ops(), b.companyId, { assign: [HAIRCUT.alex], unassign: [] });
    expect(await syncEventTypesNow(ops(), b.companyId)).toBe(0);

    // The first is moved in Cal.com; its webhook reaches the shared account's URL.
    const moved = gw.sandbox.control.rescheduleBookingDirect(
      byWebhook.uid,
      berlin(byWebhook.day, '10:00'),
      true,
    );
    await gw.sandbox.control.flushWebhooks();
    const a = await eventually(async () => {
      const [row] = await gw.database.db.select().from(appointments).where(eq(appointments.id, byWebhook.id));
      return row?.calcomBookingUid === moved.uid ? row : undefined;
    });
    expect(a).toMatchObject({
      companyId: gw.company.companyId,
      startsAt: new Date(berlin(byWebhook.day, '10:00')),
    });

    // The second is moved with webhooks off; B's reconciliation (which now lists that event type)
    // brings the move to A as well.
    gw.sandbox.control.setWebhookDrop({ probability: 1 });
    const later = gw.sandbox.control.rescheduleBookingDirect(
      byReconcile.uid,
      berlin(byReconcile.day, '12:00'),
      true,
    );
    await gw.sandbox.control.flushWebhooks();
    gw.sandbox.control.setWebhookDrop({ probability: 0 });
    await reconcileNow(ops(), b.companyId);
    const [second] = await gw.database.db
      .select()
      .from(appointments)
      .where(eq(appointments.id, byReconcile.id));
    expect(second).toMatchObject({ companyId: gw.company.companyId, calcomBookingUid: later.uid });

    // B recorded neither, and holds none of A's customers.
    const ofB = await gw.database.db
      .select()
      .from(appointments)
      .where(eq(appointments.companyId, b.companyId));
    expect(ofB).toEqual([]);
    const customersOfB = await gw.database.db
      .select()
      .from(customers)
      .where(eq(customers.companyId, b.companyId));
    expect(customersOfB).toEqual([]);
  });
});
