import { resolveNeedsAttention } from '@calgate/cli';
import { reconcileNow } from '@calgate/cli/operations';
import { appointmentHistory, appointments } from '@calgate/db';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  berlin,
  EMPTY_BOOKINGS_LIST,
  type Gateway,
  queuesSettled,
  startGateway,
  testDay,
} from './support/gateway.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw.close();
});
afterEach(() => gw.sandbox.control.clearFaults());

/**
 * A create that lands but whose answer is lost; the retry's lookup (and, with `missedLookups` 2,
 * the failure handler's too) finds nothing, and the retry's send is refused: the slot is taken by
 * our own booking.
 */
async function lostCreate(email: string, missedLookups: number): Promise<string> {
  gw.sandbox.control.injectFault({ operation: 'bookings.create', status: 502, afterEffect: true });
  gw.sandbox.control.injectFault({
    operation: 'bookings.list',
    status: 200,
    body: EMPTY_BOOKINGS_LIST,
    count: missedLookups,
  });
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token),
    payload: {
      serviceId: gw.company.serviceIds[0],
      staffId: gw.company.staffIds[0],
      start: berlin(testDay(), '11:00'),
      timeZone: 'Europe/Berlin',
      customer: { name: 'Lost Answer', email },
    },
  });
  expect(res.statusCode, res.body).toBe(202);
  await queuesSettled(gw);
  return res.json().id as string;
}

const row = async (id: string) =>
  (await gw.database.db.select().from(appointments).where(eq(appointments.id, id)))[0];
const ours = (id: string) => gw.sandbox.control.bookings().filter((b) => b.metadata.calgateId === id);

describe('a create whose answer never came, refused on its retry', () => {
  it('is adopted when the failure handler finds our booking after all', async () => {
    const id = await lostCreate('lost-then-found@example.org', 1);
    const [booking] = ours(id);
    expect(booking?.status).toBe('accepted');
    expect(await row(id)).toMatchObject({
      status: 'confirmed',
      calcomBookingUid: booking?.uid,
      needsAttention: false,
    });
  });

  it('is flagged when it is not found, and a live booking shown later is recorded for an operator', async () => {
    const id = await lostCreate('lost-for-good@example.org', 2);
    expect(await row(id)).toMatchObject({ status: 'failed', needsAttention: true, calcomBookingUid: null });
    const [booking] = ours(id);
    expect(booking?.status).toBe('accepted');
    // Reconciliation (as a late webhook would) shows the booking carrying our id: its uid is recorded.
    await reconcileNow({ runtime: gw.runtime(), out: () => undefined }, gw.company.companyId);
    expect(await row(id)).toMatchObject({
      status: 'failed',
      needsAttention: true,
      calcomBookingUid: booking?.uid,
    });
    const history = await gw.database.db
      .select()
      .from(appointmentHistory)
      .where(eq(appointmentHistory.appointmentId, id));
    expect(history.map((h) => h.event)).toContain('booked_after_failure');

    // An operator settles it with the customer and clears the flag; the history says so.
    const lines: string[] = [];
    const context = {
      db: gw.database.db,
      connection: gw.runtime().connection,
      prefix: gw.config.redis.queuePrefix,
      out: (line: string) => lines.push(line),
    };
    await resolveNeedsAttention(context, id, 'customer keeps the 11:00 booking; recorded by hand');
    expect(lines).toEqual([`${id}: attention resolved (failed)`]);
    expect((await row(id))?.needsAttention).toBe(false);
    const [resolved] = await gw.database.db
      .select()
      .from(appointmentHistory)
      .where(
        and(eq(appointmentHistory.appointmentId, id), eq(appointmentHistory.event, 'attention_resolved')),
      );
    expect(resolved).toMatchObject({
      actor: 'operator',
      data: { note: 'customer keeps the 11:00 booking; recorded by hand' },
    });
    await expect(resolveNeedsAttention(context, id, 'again')).rejects.toThrow('is not flagged');
    await expect(resolveNeedsAttention(context, id, '  ')).rejects.toThrow('--note');
  });
});
