import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Booking } from '@calgate/calendar';
import { storableId, storedEventTypeId } from '@calgate/calendar';
import { appointmentSegments, appointments, executePreparedOn } from '@calgate/db';
import { AppError, isAppError, publicFailure } from '@calgate/errors';
import type { JobContext } from '@calgate/jobs';
import { and, eq, sql } from 'drizzle-orm';
import { findBookingByMetadata } from '../appointments/calcom-lookup.ts';
import { invalidateAvailability } from '../appointments/invalidate.ts';
import { APPOINTMENT_KEY, GENERATION_KEY, METADATA_KEY } from '../appointments/metadata.ts';
import { type SegmentRow, segmentsOf } from '../appointments/state.ts';
import {
  calcomAttendee,
  calcomNotes,
  loadWorkContext,
  type WorkContext,
} from '../appointments/work-context.ts';
import type { DomainDeps } from '../deps.ts';
import { assertNotHeldForBooking } from '../holds/guard.ts';
import { refusedUnsent, type SegmentMarkers, segmentMarkers } from './send-marker.ts';

type SegmentPayload = { appointmentId: string; generation: number; position: number };

/**
 * `composite.book-segment`: books this job's segment in Cal.com at most once (our segment id in the
 * metadata; a retry looks before it sends), then the segments before it in time the same way, one
 * after another. The flow books the last segment first, so its job books them all and the other
 * segment jobs find theirs booked and return: between two segments' Cal.com calls there is no
 * queue hop and no read; the next segment's checks (and a read of the appointment's status) run
 * while the previous create is in flight, and the previous row is written meanwhile. Each segment
 * keeps its own at-most-once marker, hold check and budget share.
 *
 * A segment below this job's own that its checks stop (a hold, the budget, the appointment no longer
 * being booked) is left to its own job, which checks again and fails in its own name. One whose
 * create failed may have been booked: this job retries it (its marker makes the retry look first).
 */
export async function processBookSegment(
  deps: DomainDeps,
  payload: SegmentPayload,
  context: JobContext,
): Promise<string> {
  // Before the first segment the customer's time is idle too: the reads go together.
  const [work, segments] = await Promise.all([
    loadWorkContext(deps.db, payload.appointmentId),
    segmentsOf(deps, payload.appointmentId, payload.generation),
  ]);
  const own = segments.find((s) => s.position === payload.position);
  if (work === undefined || own === undefined)
    throw new AppError('INVALID_STATE', 'appointment or segment is gone');
  const markers = segmentMarkers(context, payload.position);
  const recorded: Array<Promise<unknown>> = [];
  const toBook = segments
    .filter((s) => s.position <= payload.position && !(s.status === 'booked' && s.calcomBookingUid !== null))
    .reverse();
  let ownUid = own.status === 'booked' ? own.calcomBookingUid : null;
  let failure: { error: unknown } | undefined;
  // The next segment's checks, started while the previous segment's create is in flight.
  let early: EarlyChecks | undefined;
  try {
    // The status read above is fresh for the first segment this run sends; later ones read it again.
    let fresh = true;
    for (const [index, segment] of toBook.entries()) {
      const isOwn = segment.position === payload.position;
      const checks = early?.position === segment.position ? early.checks : undefined;
      early = undefined;
      const sent = await sendSegment(deps, {
        work,
        segment,
        payload,
        context,
        markers,
        isOwn,
        fresh,
        checks,
      });
      if (sent === undefined) break;
      const next = toBook[index + 1];
      if (sent.inFlight && next !== undefined && !markers.isSet(next.position)) {
        early = {
          position: next.position,
          checks: startChecks(deps, { work, segment: next, payload, context, markers }, true),
        };
      }
      const booking = await sent.booking.catch(async (error: unknown) => {
        // Throttled: this segment was not booked, and its marker goes (see `refusedUnsent`).
        if (sent.inFlight && !sent.markedBefore && refusedUnsent(error))
          await markers.unset(segment.position);
        throw error;
      });
      fresh = false;
      if (isOwn) ownUid = booking.uid;
      const refused = notBookedAtOnce(segment, booking);
      // A request to the host (or one it declined) is recorded as failed with its uid, in the same
      // statement: the compensation cancels it with the others, and no retry takes it as booked.
      // Started once the loop has sent the next segment's create: between two creates the
      // customer's time is idle, so nothing but that create goes first.
      recorded.push(
        nextTurn().then(() => recordBooked(deps, segment, payload.generation, booking, refused?.message)),
      );
      if (refused !== undefined) throw refused;
    }
  } catch (error) {
    failure = { error };
  }
  // Checks made for a segment this run then did not send: its marker is taken back.
  if (early !== undefined) {
    const [, marked] = await early.checks;
    if (marked.status === 'fulfilled') await markers.unset(early.position);
  }
  // Every booked segment's row is written before the job ends (the next job reads it).
  const writes = await Promise.allSettled(recorded);
  if (failure !== undefined) throw failure.error;
  for (const write of writes) if (write.status === 'rejected') throw write.reason;
  if (ownUid === null) throw new AppError('INVALID_STATE', 'segment not booked', { retry: true });
  return ownUid;
}

/**
 * A segment Cal.com did not book at once: a request for the host to confirm (its event type needs
 * confirmation), or one the host declined before we heard of it (found after a lost answer). A
 * composite cannot stand half confirmed, so it fails (for good) and its booked segments are released.
 */
function notBookedAtOnce(segment: SegmentRow, booking: Booking): AppError | undefined {
  const details = { details: { segment: segment.position + 1, eventTypeId: segment.calcomEventTypeId } };
  if (booking.status === 'pending') {
    return new AppError(
      'NOT_SUPPORTED',
      `Cal.com made segment ${segment.position + 1} a request for the host to confirm (its event type ` +
        `${segment.calcomEventTypeId} needs confirmation); a multi-segment service needs event types that confirm at once`,
      details,
    );
  }
  if (booking.status === 'rejected') {
    return new AppError(
      'SLOT_UNAVAILABLE',
      `The host declined segment ${segment.position + 1} in Cal.com`,
      details,
    );
  }
  return undefined;
}

/** One segment's booking within a segment job's run. */
interface SegmentStep {
  work: WorkContext;
  segment: SegmentRow;
  payload: SegmentPayload;
  context: JobContext;
  markers: SegmentMarkers;
}

type Checks = Promise<
  [
    PromiseSettledResult<void>,
    PromiseSettledResult<void>,
    PromiseSettledResult<void>,
    PromiseSettledResult<boolean>,
  ]
>;
interface EarlyChecks {
  position: number;
  checks: Checks;
}

/**
 * Another caller's hold on this staff member's time (a Cal.com booking would not see it), the
 * at-most-once marker, the budget's share and (`readStatus`) whether the appointment is still being
 * booked: independent, waited for together. Valid ahead of the send: a hold written after the
 * check sees the pending booking and is refused; a marker set early costs at most a lookup; a
 * prepaid share waits 500 ms for its call; a cancel that lands after the status was read lets one
 * more segment be booked, which the finalize job (or the failed segment job) then releases.
 */
function startChecks(deps: DomainDeps, step: SegmentStep, readStatus: boolean): Checks {
  const { work, segment } = step;
  const { keyId } = deps.calcom.forCompany(work.company);
  return Promise.allSettled([
    assertNotHeldForBooking(deps.db, {
      staffId: segment.staffId,
      start: segment.startsAt,
      end: segment.endsAt,
      appointmentId: work.appointment.id,
    }),
    step.markers.set(segment.position),
    deps.calcom.prepay(keyId, work.appointment.companyId, step.context.signal),
    readStatus ? readStillBooking(deps, step.payload) : true,
  ]);
}

/** Whether the appointment is still being booked in this generation (not cancelled, not failed). */
function stillBooking(appointment: { status: string; failureCode: string | null }, generation: number) {
  return (
    appointment.status === (generation === 0 ? 'pending' : 'rescheduling') && appointment.failureCode === null
  );
}

async function readStillBooking(deps: DomainDeps, payload: SegmentPayload): Promise<boolean> {
  const [row] = await deps.db
    .select({ status: appointments.status, failureCode: appointments.failureCode })
    .from(appointments)
    .where(eq(appointments.id, payload.appointmentId));
  return row !== undefined && stillBooking(row, payload.generation);
}

/**
 * One segment's create: looked up in Cal.com first when an earlier run may have sent it, else sent
 * after its checks (`startChecks`). Undefined when a segment below the job's own was stopped before
 * its send. `checks` were started while the previous segment's create was in flight (the segment was
 * not marked then).
 */
async function sendSegment(
  deps: DomainDeps,
  step: SegmentStep & {
    isOwn: boolean;
    fresh: boolean;
    checks: Checks | undefined;
  },
): Promise<{ booking: Promise<Booking>; inFlight: boolean; markedBefore: boolean } | undefined> {
  const { work, segment, payload, context, markers, isOwn } = step;
  if (step.fresh && !stillBooking(work.appointment, payload.generation)) {
    if (!isOwn) return undefined;
    throw new AppError('INVALID_STATE', `appointment is ${work.appointment.status}; segment not booked`);
  }
  const { client } = deps.calcom.forCompany(work.company);
  const markedBefore = step.checks === undefined && markers.isSet(segment.position);
  if (markedBefore || (isOwn && context.job.attemptsMade > 0)) {
    const found = await findBookingByMetadata(
      client,
      {
        ourId: segment.id,
        attendeeEmail: work.customer.email ?? undefined,
        start: segment.startsAt,
        end: segment.endsAt,
        eventTypeIds: [segment.calcomEventTypeId],
      },
      context.signal,
    );
    if (found !== undefined) return { booking: Promise.resolve(found), inFlight: false, markedBefore };
  }
  const [hold, marked, paid, state] = await (step.checks ?? startChecks(deps, step, !step.fresh));
  const steps = [marked, hold, paid, state];
  if (
    !isOwn &&
    (steps.some((s) => s.status === 'rejected') || (state.status === 'fulfilled' && !state.value))
  ) {
    if (!markedBefore) await markers.unset(segment.position);
    return undefined;
  }
  if (paid.status === 'rejected' && !markedBefore) await markers.unset(segment.position);
  for (const s of steps) if (s.status === 'rejected') throw s.reason;
  const booking = client.createBooking(
    {
      start: segment.startsAt.toISOString(),
      eventTypeId: storedEventTypeId(segment.calcomEventTypeId),
      attendee: calcomAttendee(work.customer, work.appointment.timezone),
      ...calcomNotes(work.appointment.notes),
      metadata: {
        [METADATA_KEY]: segment.id,
        [APPOINTMENT_KEY]: work.appointment.id,
        [GENERATION_KEY]: String(payload.generation),
      },
    },
    { signal: context.signal },
  );
  return { booking, inFlight: true, markedBefore };
}

/**
 * The segment's row and its history row in one statement (they commit together), alongside the
 * cache invalidation.
 */
async function recordBooked(
  deps: DomainDeps,
  segment: SegmentRow,
  generation: number,
  booking: Booking,
  refusal: string | undefined,
) {
  const uid = booking.uid;
  const status = refusal === undefined ? 'booked' : 'failed';
  const data = {
    position: segment.position,
    generation,
    uid,
    ...(refusal === undefined ? {} : { status: booking.status }),
  };
  await Promise.all([
    executePreparedOn(
      deps.db,
      sql`
      with booked as (
        update appointment_segments
        set status = ${status}, calcom_booking_uid = ${uid}, calcom_booking_id = ${storableId(booking.id)},
          failure_reason = ${refusal ?? null}, updated_at = ${new Date().toISOString()}::timestamptz
        where id = ${segment.id}
        returning appointment_id
      )
      insert into appointment_history (appointment_id, event, actor, data)
      select appointment_id, 'segment_booked', 'worker', ${JSON.stringify(data)}::jsonb
      from booked`,
    ),
    invalidateAvailability(deps, {
      staffId: segment.staffId,
      eventTypeIds: [segment.calcomEventTypeId],
      spans: [{ start: segment.startsAt, end: segment.endsAt }],
    }),
  ]);
}

/**
 * A segment failed for good: remember why, then hand over to the durable compensation job, which
 * cancels whatever was booked before the appointment is marked failed. The job also books the
 * segments before its own, so the one that failed is the first in booking order not booked.
 * Returns that segment's position.
 */
export async function failBookSegment(
  deps: DomainDeps,
  payload: SegmentPayload,
  error: unknown,
): Promise<number> {
  const code = isAppError(error) ? error.code : 'INTERNAL';
  const reason = publicFailure(error).message;
  const segments = await segmentsOf(deps, payload.appointmentId, payload.generation);
  // A segment Cal.com booked but would not confirm names itself; otherwise the first not booked.
  const named = isAppError(error) ? error.details?.segment : undefined;
  const position =
    typeof named === 'number'
      ? named - 1
      : (segments.filter((s) => s.position <= payload.position && s.status !== 'booked').at(-1)?.position ??
        payload.position);
  await deps.db
    .update(appointmentSegments)
    .set({ status: 'failed', failureReason: reason, updatedAt: new Date() })
    .where(
      and(
        eq(appointmentSegments.appointmentId, payload.appointmentId),
        eq(appointmentSegments.generation, payload.generation),
        eq(appointmentSegments.position, position),
      ),
    );
  if (payload.generation === 0) {
    await deps.db
      .update(appointments)
      .set({
        failureCode: code,
        failureReason: `segment ${position + 1}: ${reason}`,
        updatedAt: new Date(),
      })
      .where(eq(appointments.id, payload.appointmentId));
  }
  await deps.queues.enqueue('composite.compensate', {
    appointmentId: payload.appointmentId,
    generation: payload.generation,
    purpose: 'failed',
    code,
  });
  await deps.counters.increment('compensations_started');
  return position;
}
