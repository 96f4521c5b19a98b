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
  setPolicy([HAIRCUT.alex, ...COLOUR], ALWAYS);
});
afterAll(async () => {
  await gw.close();
  await receiver.close();
});

/**
 * Sets (undefined: removes) the confirmation policy of sandbox event types, as changed in Cal.com's
 * settings; answers them as they were, for `restore`.
 */
function setPolicy(ids: number[], policy: SandboxConfirmationPolicy | undefined): SandboxEventType[] {
  const all = gw.sandbox.control.state().eventTypes as SandboxEventType[];
  return ids.map((id) => {
    const before = all.find((e) => e.id === id) as SandboxEventType;
    gw.sandbox.control.addEventType({ ...before, confirmationPolicy: policy });
    return before;
  });
}
const restore = (eventTypes: SandboxEventType[]) => {
  for (const eventType of eventTypes) gw.sandbox.control.addEventType(eventType);
};

/** The three-segment service (colour, wash and cut, blow-dry), waiting for the outcome. */
const bookComposite = (start: string, name: string) =>
  postBooking(
    gw,
    {
      serviceId: gw.company.serviceIds[1],
      start,
      customer: { name, email: `${name.toLowerCase()}@example.org` },
    },
    { prefer: 'wait=30' },
  );

interface View {
  id: string;
  status: string;
  start: string;
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

  it('declined by the host before a lost answer was looked up, is recorded rejected, never confirmed', async () => {
    // Cal.com makes the request but its answer is lost; the retry's lookup takes two seconds.
    gw.sandbox.control.injectFault({ operation: 'bookings.create', status: 502, afterEffect: true });
    gw.sandbox.control.injectFault({ operation: 'bookings.list', latencyMs: 2_000, count: 1 });
    // Cal.com's webhooks (the request, the decline) are lost too: only the retry's lookup tells.
    gw.sandbox.control.setWebhookDrop({ count: 2 });
    const res = await postBooking(gw, {
      start: berlin(testDay(), '16:30'),
      staffId: gw.company.staffIds[0],
      customer: { name: 'Noa', email: 'noa@example.org' },
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const made = await eventually(async () =>
      gw.sandbox.control.bookings().find((b) => b.metadata.calgateId === id),
    );
    gw.sandbox.control.declineBookingDirect(made.uid, 'Closed that afternoon');
    const rejected = await eventually(async () => {
      const now = await read(id);
      return now.status === 'pending' ? undefined : now;
    });
    expect(rejected.status).toBe('rejected');
    expect(rejected.calcom.bookingUid).toBe(made.uid);
    expect(gw.sandbox.control.bookings().filter((b) => b.metadata.calgateId === id)).toHaveLength(1);
  });

  it('follows moves made in Cal.com: by the host (accepted), by the attendee (asked again)', async () => {
    const day = testDay();
    const view = await requestHaircut('14:00');
    // The host moves the request in Cal.com: Cal.com accepts its organizer's own reschedule.
    const hostMoved = gw.sandbox.control.rescheduleBookingDirect(
      view.calcom.bookingUid as string,
      berlin(day, '15:00'),
      true,
    );
    expect(hostMoved.status).toBe('accepted');
    await webhooksApplied();
    const confirmed = await eventually(async () => {
      const now = await read(view.id);
      return now.status === 'confirmed' ? now : undefined;
    });
    expect(confirmed).toMatchObject({ start: berlin(day, '15:00'), calcom: { bookingUid: hostMoved.uid } });
    // The customer moves it in Cal.com: a request to the host again, at the new time.
    const attendeeMoved = gw.sandbox.control.rescheduleBookingDirect(hostMoved.uid, berlin(day, '16:00'));
    expect(attendeeMoved.status).toBe('pending');
    await webhooksApplied();
    const requested = await eventually(async () => {
      const now = await read(view.id);
      return now.status === 'requested' ? now : undefined;
    });
    expect(requested).toMatchObject({
      start: berlin(day, '16:00'),
      calcom: { bookingUid: attendeeMoved.uid },
    });
  });

  it('is requested again when our reschedule needs the host to confirm the new time', async () => {
    const day = testDay();
    // Billie's haircut confirms at once at first, and needs confirmation from now on.
    const booked = await postBooking(
      gw,
      {
        start: berlin(day, '10:00'),
        staffId: gw.company.staffIds[1],
        customer: { name: 'Ari', email: 'ari@example.org' },
      },
      { prefer: 'wait=20' },
    );
    expect(booked.statusCode, booked.body).toBe(201);
    const billie = setPolicy([HAIRCUT.billie], ALWAYS);
    try {
      const moved = await gw.app.inject({
        method: 'PATCH',
        url: `/api/v2/bookings/${booked.json().id}`,
        headers: auth(gw.company.token, { prefer: 'wait=20' }),
        payload: { start: berlin(day, '11:00'), timeZone: 'Europe/Berlin' },
      });
      expect(moved.statusCode, moved.body).toBe(200);
      expect(moved.json()).toMatchObject({ status: 'requested', start: berlin(day, '11:00') });
      expect(calcomStatus(moved.json().calcom.bookingUid)).toBe('pending');
      await webhooksApplied();
      expect((await read(booked.json().id)).status).toBe('requested');
    } finally {
      restore(billie);
    }
  });

  it('keeps a composite whose reschedule Cal.com makes a request, answering NOT_SUPPORTED', async () => {
    const day = testDay();
    // Booked while the colour confirmed at once; it needs confirmation by the time it is moved.
    const colours = setPolicy(COLOUR, undefined);
    let id: string;
    try {
      const booked = await bookComposite(berlin(day, '09:00'), 'Jo');
      expect(booked.statusCode, booked.body).toBe(201);
      id = booked.json().id as string;
    } finally {
      restore(colours);
    }
    const moved = await gw.app.inject({
      method: 'PATCH',
      url: `/api/v2/bookings/${id}`,
      headers: auth(gw.company.token, { prefer: 'wait=30' }),
      payload: { start: berlin(day, '13:00'), timeZone: 'Europe/Berlin' },
    });
    expect(moved.statusCode, moved.body).toBe(422);
    expect(moved.json().error).toMatchObject({ code: 'NOT_SUPPORTED', details: { unchanged: true } });
    expect(moved.json().error.message).toMatch(/^segment 1: .*request for the host to confirm/);
    await queuesSettled(gw);
    expect(await read(id)).toMatchObject({ status: 'confirmed', start: berlin(day, '09:00') });
    // Only the original generation's three bookings stand in Cal.com.
    const live = gw.sandbox.control
      .bookings()
      .filter((b) => b.metadata.calgateAppointmentId === id && b.status !== 'cancelled');
    expect(live).toHaveLength(3);
    expect(live.every((b) => b.start < Date.parse(berlin(day, '12:00')))).toBe(true);
  });

  it('fails a composite with NOT_SUPPORTED naming the segment, and releases what was booked', async () => {
    const day = testDay();
    const res = await bookComposite(berlin(day, '09:00'), 'Sam');
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
      .select({
        position: appointmentSegments.position,
        status: appointmentSegments.status,
        reason: appointmentSegments.failureReason,
      })
      .from(appointmentSegments)
      .where(eq(appointmentSegments.appointmentId, id))
      .orderBy(appointmentSegments.position);
    expect(segments.every((s) => s.status === 'cancelled')).toBe(true);
    // The request was recorded as failed, never as booked (a retry would have taken it as made).
    expect(segments[0]?.reason).toMatch(/a request for the host to confirm/);
    const view = await read(id);
    expect(
      view.history.some(
        (h) =>
          h.event === 'segment_booked' && (h as { data?: { status?: string } }).data?.status === 'pending',
      ),
    ).toBe(true);
    const [row] = await gw.database.db.select().from(appointments).where(eq(appointments.id, id));
    expect(row).toMatchObject({ status: 'failed', failureCode: 'NOT_SUPPORTED' });
  });
});
