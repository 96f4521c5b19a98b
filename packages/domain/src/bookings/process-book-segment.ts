import { storableId, storedEventTypeId } from '@calgate/calendar';
import { appointmentSegments, appointments } from '@calgate/db';
import { AppError, isAppError, publicFailure } from '@calgate/errors';
import type { JobContext } from '@calgate/jobs';
import { and, eq, sql } from 'drizzle-orm';
import { findBookingByMetadata } from '../appointments/calcom-lookup.ts';
import { invalidateAvailability } from '../appointments/invalidate.ts';
import { APPOINTMENT_KEY, GENERATION_KEY, METADATA_KEY } from '../appointments/metadata.ts';
import { segmentsOf } from '../appointments/state.ts';
import { calcomAttendee, calcomNotes, loadWorkContext } from '../appointments/work-context.ts';
import type { DomainDeps } from '../deps.ts';
import { assertNotHeldForBooking } from '../holds/guard.ts';
import { unmarkUnsent } from './send-marker.ts';

/**
 * `composite.book-segment`: books one segment in Cal.com at most once (our segment id in the
 * metadata; a retry looks before it sends) and records its uid at once.
 */
export async function processBookSegment(
  deps: DomainDeps,
  payload: { appointmentId: string; generation: number; position: number },
  context: JobContext,
): Promise<string> {
  // Between two segments of a composite the customer's time is idle: the reads go together.
  const [work, segments] = await Promise.all([
    loadWorkContext(deps.db, payload.appointmentId),
    segmentsOf(deps, payload.appointmentId, payload.generation),
  ]);
  const segment = segments.find((s) => s.position === payload.position);
  if (work === undefined || segment === undefined)
    throw new AppError('INVALID_STATE', 'appointment or segment is gone');
  if (segment.status === 'booked' && segment.calcomBookingUid !== null) return segment.calcomBookingUid;
  const expected = payload.generation === 0 ? 'pending' : 'rescheduling';
  if (work.appointment.status !== expected || work.appointment.failureCode !== null) {
    throw new AppError('INVALID_STATE', `appointment is ${work.appointment.status}; segment not booked`);
  }
  const { client, keyId } = deps.calcom.forCompany(work.company);
  let booking =
    context.job.data.sent === true || context.job.attemptsMade > 0
      ? await findBookingByMetadata(
          client,
          {
            ourId: segment.id,
            attendeeEmail: work.customer.email ?? undefined,
            start: segment.startsAt,
            end: segment.endsAt,
            eventTypeIds: [segment.calcomEventTypeId],
          },
          context.signal,
        )
      : undefined;
  if (booking === undefined) {
    // Another caller's hold on this staff member's time (a Cal.com booking would not see it), the
    // at-most-once marker and the budget's share: independent, waited for together.
    const markedBefore = context.job.data.sent === true;
    const [hold, marked, paid] = await Promise.allSettled([
      assertNotHeldForBooking(deps.db, {
        staffId: segment.staffId,
        start: segment.startsAt,
        end: segment.endsAt,
        appointmentId: work.appointment.id,
      }),
      context.job.data.sent === true
        ? Promise.resolve()
        : context.job.updateData({ ...context.job.data, sent: true }),
      deps.calcom.prepay(keyId, work.appointment.companyId, context.signal),
    ]);
    if (paid.status === 'rejected') await unmarkUnsent(context, markedBefore);
    for (const step of [marked, hold, paid]) if (step.status === 'rejected') throw step.reason;
    booking = await client.createBooking(
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
  }
  const uid = booking.uid;
  // One statement for the segment's row and its history row (they commit together), alongside
  // the cache invalidation: the next segment's job starts only when this one is done.
  await Promise.all([
    deps.db.execute(sql`
      with booked as (
        update appointment_segments
        set status = 'booked', calcom_booking_uid = ${uid}, calcom_booking_id = ${storableId(booking.id)},
          updated_at = ${new Date().toISOString()}::timestamptz
        where id = ${segment.id}
        returning appointment_id
      )
      insert into appointment_history (appointment_id, event, actor, data)
      select appointment_id, 'segment_booked', 'worker',
        ${JSON.stringify({ position: segment.position, generation: payload.generation, uid })}::jsonb
      from booked`),
    invalidateAvailability(deps, {
      staffId: segment.staffId,
      eventTypeIds: [segment.calcomEventTypeId],
      spans: [{ start: segment.startsAt, end: segment.endsAt }],
    }),
  ]);
  return booking.uid;
}

/**
 * A segment failed for good: remember why, then hand over to the durable compensation job, which
 * cancels whatever was booked before the appointment is marked failed.
 */
export async function failBookSegment(
  deps: DomainDeps,
  payload: { appointmentId: string; generation: number; position: number },
  error: unknown,
): Promise<void> {
  const code = isAppError(error) ? error.code : 'INTERNAL';
  const reason = publicFailure(error).message;
  await deps.db
    .update(appointmentSegments)
    .set({ status: 'failed', failureReason: reason, updatedAt: new Date() })
    .where(
      and(
        eq(appointmentSegments.appointmentId, payload.appointmentId),
        eq(appointmentSegments.generation, payload.generation),
        eq(appointmentSegments.position, payload.position),
      ),
    );
  if (payload.generation === 0) {
    await deps.db
      .update(appointments)
      .set({
        failureCode: code,
        failureReason: `segment ${payload.position + 1}: ${reason}`,
        updatedAt: new Date(),
      })
      .where(eq(appointments.id, payload.appointmentId));
  }
  await deps.queues.enqueue('composite.compensate', {
    appointmentId: payload.appointmentId,
    generation: payload.generation,
    purpose: 'failed',
  });
  await deps.counters.increment('compensations_started');
}
