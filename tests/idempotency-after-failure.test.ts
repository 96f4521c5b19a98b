import { appointments, idempotencyKeys } from '@calgate/db';
import { IN_FLIGHT_LEASE_MS, settleKeyInBackground } from '@calgate/domain';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berlin, eventually, type Gateway, postBooking, startGateway, testDay } from './support/gateway.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
  // The database refuses the first time a key goes from in flight to completed (a sequence, so the
  // count survives the refused statement's rollback): the request that wrote the key fails after
  // its appointment was recorded, as it would if the database went away at that moment.
  await gw.database.sql.unsafe(`
    create sequence test_completion_refusals;
    create function test_refuse_first_completion() returns trigger language plpgsql as $$
    begin
      if old.state = 'in_flight' and new.state = 'completed'
        and nextval('test_completion_refusals') = 1 then
        raise exception 'completion refused by the test';
      end if;
      return new;
    end $$;
    create trigger test_refuse_first_completion before update on idempotency_keys
      for each row execute function test_refuse_first_completion();
  `);
});
afterAll(async () => {
  await gw.close();
});

const customer = { name: 'Grace Hopper', email: 'grace@example.org' };
const keyRow = async (key: string) => {
  const [row] = await gw.database.db
    .select({ state: idempotencyKeys.state, appointmentId: idempotencyKeys.appointmentId })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.companyId, gw.company.companyId), eq(idempotencyKeys.key, key)));
  return row;
};

describe('an Idempotency-Key whose first request failed after recording the appointment', () => {
  it('replays on the next retry, long before the in-flight lease would have lapsed', async () => {
    const body = { start: berlin(testDay(), '11:00'), staffId: gw.company.staffIds[0], customer };
    const first = await postBooking(gw, body, { 'idempotency-key': 'fails-after-intake' });
    expect(first.statusCode, first.body).toBeGreaterThanOrEqual(500);
    expect(first.body).not.toContain('grace');

    const recorded = await gw.database.db
      .select({ id: appointments.id })
      .from(appointments)
      .where(
        and(
          eq(appointments.companyId, gw.company.companyId),
          eq(appointments.idempotencyKey, 'fails-after-intake'),
        ),
      );
    expect(recorded).toHaveLength(1);
    const appointmentId = recorded[0]?.id;
    // The failed request is over: its key is completed in the background as soon as the database
    // answers, well inside the lease (without that, it stays in flight for the whole lease).
    const settled = await eventually(async () => {
      const row = await keyRow('fails-after-intake');
      return row?.state === 'completed' ? row : undefined;
    }, IN_FLIGHT_LEASE_MS / 2);
    expect(settled.appointmentId).toBe(appointmentId);

    const retry = await postBooking(gw, body, { 'idempotency-key': 'fails-after-intake' });
    expect([201, 202], retry.body).toContain(retry.statusCode);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json().id).toBe(appointmentId);
    // The appointment the first request recorded is booked once, like any other.
    await eventually(async () =>
      gw.sandbox.control.bookings().some((b) => b.metadata.calgateId === appointmentId) ? true : undefined,
    );
    expect(gw.sandbox.control.bookings().filter((b) => b.metadata.calgateId === appointmentId)).toHaveLength(
      1,
    );
  });

  it("never settles a key another request wrote: that request's retries still get 409 until it answers", async () => {
    const body = { start: berlin(testDay(), '13:00'), staffId: gw.company.staffIds[0], customer };
    const first = await postBooking(gw, body, { 'idempotency-key': 'still-in-flight' });
    expect(first.statusCode, first.body).toBeLessThan(300);
    // Put the key back in flight, as if its request were still waiting for the outcome.
    await gw.database.db
      .update(idempotencyKeys)
      .set({ state: 'in_flight' })
      .where(
        and(eq(idempotencyKeys.companyId, gw.company.companyId), eq(idempotencyKeys.key, 'still-in-flight')),
      );
    const runtime = gw.runtime();
    const outcome = await settleKeyInBackground(
      runtime,
      gw.company.companyId,
      'still-in-flight',
      'apt_another_request',
    );
    expect(outcome).toBe('settled');
    expect((await keyRow('still-in-flight'))?.state).toBe('in_flight');
    const retry = await postBooking(gw, body, { 'idempotency-key': 'still-in-flight' });
    expect(retry.statusCode).toBe(409);
    expect(retry.json().error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    // "Retry shortly", as a header a caller's HTTP client understands.
    expect(retry.headers['retry-after']).toBe('1');
    // Its own appointment id settles it.
    await settleKeyInBackground(runtime, gw.company.companyId, 'still-in-flight', first.json().id);
    expect((await keyRow('still-in-flight'))?.state).toBe('completed');
  });
});
