import { registerWebhooksNow } from '@calgate/cli/operations';
import { appointmentSegments, appointments, outboundEvents } from '@calgate/db';
import type { SandboxConfirmationPolicy, SandboxEventType } from '@calgate/sandbox';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  berlin,
  eventually,
  type Gateway,
  HAIRCUT,
  postBooking,
  queuesSettled,
  startGateway,
  testDay,
} from './support/gateway.ts';
import { OUTBOUND_ENV, registerEndpoint } from './support/outbound.ts';
import { type Receiver, startReceiver } from './support/receiver.ts';

/**
 * Event types that need the host's confirmation (Cal.com's `confirmationPolicy`): Cal.com makes a
 * pending booking and announces it with `BOOKING_REQUESTED`; the host's answer comes later as
 * `BOOKING_CREATED` (confirmed) or `BOOKING_REJECTED`.
 */
const ALWAYS: SandboxConfirmationPolicy = { type: 'always', blockUnconfirmedBookingsInBooker: true };
/** The Colour segment's event types (Alex, Billie) of the three-segment service. */
const COLOUR = [202, 203];

let gw: Gateway;
let receiver: Receiver;
beforeAll(async () => {
  gw = await startGateway({ listen: true, env: OUTBOUND_ENV });
  receiver = await startReceiver();
  await registerEndpoint(gw, receiver.url, { description: 'CRM' });
  expect(
    await registerWebhooksNow({ runtime: gw.runtime(), out: () => undefined }, gw.company.companyId),
  ).toBe(0);
  const eventTypes = gw.sandbox.control.state().eventTypes as SandboxEventType[];
  for (const id of [HAIRCUT.alex, ...COLOUR]) {
    const eventType = eventTypes.find((e) => e.id === id) as SandboxEventType;
    gw.sandbox.control.addEventType({ ...eventType, confirmationPolicy: ALWAYS });
  }
});
afterAll(async () => {
  await gw.close();
  await receiver.close();
});

interface View {
  id: string;
  status: string;
  calcom: { bookingUid: string | null };
  history: Array<{ event: string; to: string | null; actor: string }>;
  failure: { code: string; reason: string } | null;
}

const read = async (id: string): Promise<View> =>
  (
    await gw.app.inject({ method: 'GET', url: `/api/v2/bookings/${id}`, headers: auth(gw.company.token) })
  ).json();

/** Books Alex's haircut and waits for the outcome: Cal.com makes it a request to the host. */
async function requestHaircut(time: string): Promise<View> {
  const res = await postBooking(
    gw,
    {
      start: berlin(testDay(), time),
      staffId: gw.company.staffIds[0],
      customer: { name: 'Robin', email: 'robin@example.org' },
    },
    { prefer: 'wait=20' },
  );
  expect(res.statusCode, res.body).toBe(202);
  const view = res.json() as View;
  expect(view.status).toBe('requested');
  expect(view.calcom.bookingUid).not.toBeNull();
  return view;
}

const calcomStatus = (uid: string | null) => gw.sandbox.control.bookings().find((b) => b.uid === uid)?.status;

/** Waits until every webhook the sandbox sent has been applied. */
async function webhooksApplied(): Promise<void> {
  await gw.sandbox.control.flushWebhooks();
  await queuesSettled(gw);
}

describe('a booking whose event type needs the host to confirm it', () => {
  it('is requested (202), and confirmed when the host confirms it in Cal.com', async () => {
    const view = await requestHaircut('10:00');
    expect(calcomStatus(view.calcom.bookingUid)).toBe('pending');
    expect(view.history.at(-1)).toMatchObject({ event: 'requested', to: 'requested', actor: 'worker' });
    // Cal.com's BOOKING_REQUESTED changes nothing more: the worker recorded it already.
    await webhooksApplied();
    expect((await read(view.id)).status).toBe('requested');

    gw.sandbox.control.confirmBookingDirect(view.calcom.bookingUid as string);
    await webhooksApplied();
    const confirmed = await eventually(async () => {
      const now = await read(view.id);
      return now.status === 'confirmed' ? now : undefined;
    });
    expect(confirmed.history.at(-1)).toMatchObject({ event: 'confirmed', to: 'confirmed', actor: 'webhook' });
    // Upstream hears of the request, then of the host's confirmation.
    const events = await gw.database.db
      .select({ type: outboundEvents.type, data: outboundEvents.data })
      .from(outboundEvents)
      .where(eq(outboundEvents.appointmentId, view.id))
      .orderBy(outboundEvents.seq);
    expect(events.map((e) => [e.type, e.data.change, e.data.status])).toEqual([
      ['appointment.updated', 'requested', 'requested'],
      ['appointment.confirmed', 'confirmed', 'confirmed'],
    ]);
  });

  it('is rejected when the host declines it', async () => {
    const view = await requestHaircut('11:00');
    gw.sandbox.control.declineBookingDirect(view.calcom.bookingUid as string, 'Fully booked that week');
    await webhooksApplied();
    const rejected = await eventually(async () => {
      const now = await read(view.id);
      return now.status === 'rejected' ? now : undefined;
    });
    expect(rejected.history.at(-1)).toMatchObject({ event: 'rejected', actor: 'webhook' });
  });

  it('can be cancelled while it waits (in Cal.com too), but not rescheduled', async () => {
    const view = await requestHaircut('12:00');
    const moved = await gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${view.id}`,
      headers: auth(gw.company.token),
      payload: { start: berlin(testDay(), '13:00'), timeZone: 'Europe/Berlin' },
    });
    expect(moved.statusCode, moved.body).toBe(409);
    expect(moved.json().error).toMatchObject({ code: 'INVALID_STATE', details: { status: 'requested' } });
    expect(moved.json().error.message).toMatch(/waiting for the host/);

    const cancelled = await gw.app.inject({
      method: 'DELETE',
      url: `/api/v2/bookings/${view.id}`,
      headers: auth(gw.company.token, { prefer: 'wait=20' }),
      payload: { cancellationReason: 'found another salon' },
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    expect(calcomStatus(view.calcom.bookingUid)).toBe('cancelled');
  });

  it('fails a composite with NOT_SUPPORTED naming the segment, and releases what was booked', async () => {
    const day = testDay();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=30' }),
      payload: {
        serviceId: gw.company.serviceIds[1],
        start: berlin(day, '09:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Sam', email: 'sam@example.org' },
      },
    });
    expect(res.statusCode, res.body).toBe(422);
    const error = res.json().error as { code: string; message: string; details: { appointmentId: string } };
    expect(error.code).toBe('NOT_SUPPORTED');
    expect(error.message).toMatch(/segment 1: .*needs confirmation/);
    const id = error.details.appointmentId;
    await queuesSettled(gw);
    // Every segment Cal.com made (the two after the colour, then the colour's request) is cancelled.
    const made = gw.sandbox.control.bookings().filter((b) => b.metadata.calgateAppointmentId === id);
    expect(made).toHaveLength(3);
    expect(made.map((b) => b.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    const segments = await gw.database.db
      .select({ position: appointmentSegments.position, status: appointmentSegments.status })
      .from(appointmentSegments)
      .where(eq(appointmentSegments.appointmentId, id));
    expect(segments.every((s) => s.status === 'cancelled')).toBe(true);
    const [row] = await gw.database.db.select().from(appointments).where(eq(appointments.id, id));
    expect(row).toMatchObject({ status: 'failed', failureCode: 'NOT_SUPPORTED' });
  });
});
