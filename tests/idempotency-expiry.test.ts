import { appointments, idempotencyKeys } from '@calgate/db';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, startGateway, testDay } from './support/gateway.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw.close();
});

const customer = { name: 'Ada Lovelace', email: 'ada@example.org' };
const book = (body: Record<string, unknown>, key: string) =>
  gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token, { 'idempotency-key': key, prefer: 'wait=30' }),
    payload: body,
  });
const haircut = (start: string) => ({
  serviceId: gw.company.serviceIds[0],
  start,
  timeZone: 'Europe/Berlin',
  staffId: gw.company.staffIds[0],
  customer,
});

/**
 * Moves a stored key back in time by `interval` (both its creation and its expiry), as if that
 * much time had passed: the test never waits and never reads the clock.
 */
async function age(key: string, interval: string): Promise<void> {
  const aged = await gw.database.db
    .update(idempotencyKeys)
    .set({
      createdAt: sql`${idempotencyKeys.createdAt} - ${interval}::interval`,
      expiresAt: sql`${idempotencyKeys.expiresAt} - ${interval}::interval`,
    })
    .where(and(eq(idempotencyKeys.companyId, gw.company.companyId), eq(idempotencyKeys.key, key)))
    .returning({ id: idempotencyKeys.id });
  expect(aged).toHaveLength(1);
}

const appointmentsWithKey = async (key: string) =>
  gw.database.db
    .select({ id: appointments.id, status: appointments.status })
    .from(appointments)
    .where(and(eq(appointments.companyId, gw.company.companyId), eq(appointments.idempotencyKey, key)));

describe('an Idempotency-Key after its 24 hours', () => {
  it('still replays just before it expires, and books anew once expired', async () => {
    const day = testDay();
    const first = await book(haircut(berlin(day, '10:00')), 'expiry-simple');
    expect(first.statusCode, first.body).toBe(201);

    await age('expiry-simple', '23 hours 59 minutes');
    const replayed = await book(haircut(berlin(day, '10:00')), 'expiry-simple');
    expect(replayed.statusCode).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json().id).toBe(first.json().id);
    const refused = await book(haircut(berlin(day, '14:00')), 'expiry-simple');
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');

    await age('expiry-simple', '2 minutes');
    const again = await book(haircut(berlin(day, '14:00')), 'expiry-simple');
    expect(again.statusCode, again.body).toBe(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    const second = again.json();
    expect(second.id).not.toBe(first.json().id);
    expect(second).toMatchObject({ status: 'confirmed', start: berlin(day, '14:00') });
    // Each appointment has its own Cal.com booking; the first one is untouched.
    const mine = (id: string) => gw.sandbox.control.bookings().filter((b) => b.metadata.calgateId === id);
    expect(mine(first.json().id)).toHaveLength(1);
    expect(mine(second.id)).toHaveLength(1);
    expect((await appointmentsWithKey('expiry-simple')).map((a) => a.status)).toEqual([
      'confirmed',
      'confirmed',
    ]);

    // The key now belongs to the new appointment, for a fresh 24 hours.
    const [row] = await gw.database.db
      .select({
        appointmentId: idempotencyKeys.appointmentId,
        hoursLeft: sql<number>`extract(epoch from ${idempotencyKeys.expiresAt} - now()) / 3600`,
      })
      .from(idempotencyKeys)
      .where(
        and(eq(idempotencyKeys.companyId, gw.company.companyId), eq(idempotencyKeys.key, 'expiry-simple')),
      );
    expect(row?.appointmentId).toBe(second.id);
    expect(Number(row?.hoursLeft)).toBeGreaterThan(23.9);
    const replayOfNew = await book(haircut(berlin(day, '14:00')), 'expiry-simple');
    expect(replayOfNew.json().id).toBe(second.id);
    expect(replayOfNew.headers['idempotent-replayed']).toBe('true');
  });

  it('books a composite appointment anew with an expired key', async () => {
    const day = testDay();
    const composite = (start: string) => ({
      serviceId: gw.company.serviceIds[2],
      start,
      timeZone: 'Europe/Berlin',
      customer,
    });
    const first = await book(composite(berlin(day, '09:00')), 'expiry-composite');
    expect(first.statusCode, first.body).toBe(201);
    await age('expiry-composite', '24 hours 1 minute');
    const again = await book(composite(berlin(day, '13:00')), 'expiry-composite');
    expect(again.statusCode, again.body).toBe(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.json()).toMatchObject({ status: 'confirmed', start: berlin(day, '13:00') });
    expect(again.json().id).not.toBe(first.json().id);
    expect(await appointmentsWithKey('expiry-composite')).toHaveLength(2);
  });

  it('lets exactly one of several concurrent requests take over an expired key', async () => {
    const day = testDay();
    const first = await book(haircut(berlin(day, '09:00')), 'expiry-race');
    expect(first.statusCode, first.body).toBe(201);
    await age('expiry-race', '24 hours 1 minute');
    const results = await Promise.all(
      Array.from({ length: 4 }, () => book(haircut(berlin(day, '16:00')), 'expiry-race')),
    );
    for (const res of results) expect([201, 409]).toContain(res.statusCode);
    for (const res of results.filter((r) => r.statusCode === 409)) {
      expect(res.json().error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    }
    const fresh = new Set(results.filter((r) => r.statusCode === 201).map((r) => r.json().id));
    expect(fresh.size).toBe(1);
    expect(fresh.has(first.json().id)).toBe(false);
    expect(await appointmentsWithKey('expiry-race')).toHaveLength(2);
    const start = Date.parse(berlin(day, '16:00'));
    expect(gw.sandbox.control.bookings().filter((b) => b.start === start)).toHaveLength(1);
  });
});
