import { storableId, storedEventTypeId, storedTextId } from '@calgate/calendar';
import { appointmentHistory, appointmentSegments, appointments } from '@calgate/db';
import { AppError, isAppError, publicFailure } from '@calgate/errors';
import { errorLogFields, type JobContext } from '@calgate/jobs';
import { and, asc, eq } from 'drizzle-orm';
import { findBookingByMetadata } from '../appointments/calcom-lookup.ts';
import { currentGeneration } from '../appointments/composite-state.ts';
import { invalidateAvailability } from '../appointments/invalidate.ts';
import { APPOINTMENT_KEY, GENERATION_KEY, METADATA_KEY } from '../appointments/metadata.ts';
import { flagNeedsAttention, transition } from '../appointments/transitions.ts';
import {
  calcomAttendee,
  calcomNotes,
  loadWorkContext,
  type WorkContext,
} from '../appointments/work-context.ts';
import { compositeAlternatives } from '../availability/composite-availability.ts';
import type { DomainDeps } from '../deps.ts';
import { assertNotHeldForBooking } from '../holds/guard.ts';
import { EXISTING, loadService } from '../services/catalog.ts';

type SegmentRow = typeof appointmentSegments.$inferSelect;

async function segmentsOf(
  deps: DomainDeps,
  appointmentId: string,
  generation: number,
): Promise<SegmentRow[]> {
  return deps.db
    .select()
    .from(appointmentSegments)
    .where(
      and(
        eq(appointmentSegments.appointmentId, appointmentId),
        eq(appointmentSegments.generation, generation),
      ),
    )
    .orderBy(asc(appointmentSegments.position));
}

/**
 * `composite.book-segment`: books one segment in Cal.com at most once (our segment id in the
 * metadata; a retry looks before it sends) and records its uid at once.
 */
export async function processBookSegment(
  deps: DomainDeps,
  payload: { appointmentId: string; generation: number; position: number },
  context: JobContext,
): Promise<string> {
  const work = await loadWorkContext(deps.db, payload.appointmentId);
  const segment = (await segmentsOf(deps, payload.appointmentId, payload.generation)).find(
    (s) => s.position === payload.position,
  );
  if (work === undefined || segment === undefined)
    throw new AppError('INVALID_STATE', 'appointment or segment is gone');
  if (segment.status === 'booked' && segment.calcomBookingUid !== null) return segment.calcomBookingUid;
  const expected = payload.generation === 0 ? 'pending' : 'rescheduling';
  if (work.appointment.status !== expected || work.appointment.failureCode !== null) {
    throw new AppError('INVALID_STATE', `appointment is ${work.appointment.status}; segment not booked`);
  }
  const { client } = deps.calcom.forCompany(work.company);
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
    // Another caller's hold on this staff member's time (a Cal.com booking would not see it).
    await assertNotHeldForBooking(deps.db, {
      staffId: segment.staffId,
      start: segment.startsAt,
      end: segment.endsAt,
      appointmentId: work.appointment.id,
    });
    await context.job.updateData({ ...context.job.data, sent: true });
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
  await deps.db.transaction(async (tx) => {
    await tx
      .update(appointmentSegments)
      .set({
        status: 'booked',
        calcomBookingUid: booking.uid,
        calcomBookingId: storableId(booking.id),
        updatedAt: new Date(),
      })
      .where(eq(appointmentSegments.id, segment.id));
    await tx.insert(appointmentHistory).values({
      appointmentId: work.appointment.id,
      event: 'segment_booked',
      actor: 'worker',
      data: { position: segment.position, generation: payload.generation, uid: booking.uid },
    });
  });
  await invalidateAvailability(deps, {
    staffId: segment.staffId,
    eventTypeIds: [segment.calcomEventTypeId],
    spans: [{ start: segment.startsAt, end: segment.endsAt }],
  });
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

/**
 * `composite.finalize`: runs only when every segment job of the generation succeeded. Generation 0
 * confirms the appointment; a later generation (a reschedule) moves it to the new times and then
 * releases the old generation's bookings.
 */
export async function processFinalize(
  deps: DomainDeps,
  payload: { appointmentId: string; generation: number },
): Promise<string> {
  const segments = await segmentsOf(deps, payload.appointmentId, payload.generation);
  if (segments.length === 0 || segments.some((s) => s.status !== 'booked')) {
    throw new AppError('INVALID_STATE', 'not every segment is booked', { retry: true });
  }
  const first = segments[0] as SegmentRow;
  const last = segments.at(-1) as SegmentRow;
  const uids = segments.map((s) => s.calcomBookingUid);
  const done =
    payload.generation === 0
      ? await transition(deps.db, {
          appointmentId: payload.appointmentId,
          from: ['pending'],
          to: 'confirmed',
          event: 'confirmed',
          actor: 'worker',
          data: { generation: 0, uids },
        })
      : await transition(deps.db, {
          appointmentId: payload.appointmentId,
          from: ['rescheduling'],
          to: 'confirmed',
          event: 'rescheduled',
          actor: 'worker',
          set: { startsAt: first.startsAt, endsAt: last.endsAt },
          data: { generation: payload.generation, uids, requestId: await requestIdOf(deps, payload) },
        });
  if (!done && (await alreadyConfirmed(deps, payload))) {
    // A retry after a crash that came right after the confirmation: nothing left to do but make
    // sure the replaced generation is released (its job id makes that idempotent).
    if (payload.generation > 0) {
      await deps.queues.enqueue('composite.compensate', {
        appointmentId: payload.appointmentId,
        generation: payload.generation - 1,
        purpose: 'replaced',
      });
    }
    await deps.outcomes.publish(payload.appointmentId);
    return 'confirmed-before';
  }
  if (payload.generation > 0 && done) {
    await deps.queues.enqueue('composite.compensate', {
      appointmentId: payload.appointmentId,
      generation: payload.generation - 1,
      purpose: 'replaced',
    });
  }
  if (!done) {
    // Cancelled (or failed) while the segments were being booked: release them.
    await deps.queues.enqueue('composite.compensate', {
      appointmentId: payload.appointmentId,
      generation: payload.generation,
      purpose: 'failed',
      round: 'late',
    });
  }
  await deps.outcomes.publish(payload.appointmentId);
  return done ? 'confirmed' : 'released';
}

/** True when the appointment is confirmed and this generation is the one it stands on. */
async function alreadyConfirmed(
  deps: Pick<DomainDeps, 'db'>,
  payload: { appointmentId: string; generation: number },
): Promise<boolean> {
  const [row] = await deps.db
    .select({ status: appointments.status })
    .from(appointments)
    .where(eq(appointments.id, payload.appointmentId));
  return (
    row?.status === 'confirmed' &&
    (await currentGeneration(deps, payload.appointmentId)) === payload.generation
  );
}

async function requestIdOf(deps: DomainDeps, payload: { appointmentId: string; generation: number }) {
  const rows = await deps.db
    .select({ data: appointmentHistory.data })
    .from(appointmentHistory)
    .where(
      and(
        eq(appointmentHistory.appointmentId, payload.appointmentId),
        eq(appointmentHistory.event, 'reschedule_requested'),
      ),
    );
  const match = rows
    .map((r) => r.data as { requestId?: string; generation?: number })
    .find((d) => d.generation === payload.generation);
  return match?.requestId;
}

/**
 * `composite.compensate`: cancels every live Cal.com booking of one generation — the uids Postgres
 * recorded and, by a metadata lookup in Cal.com, any booking made just before a crash — then
 * records the outcome. Already cancelled counts as done. Retried for a long time (capped backoff).
 */
export async function processCompensate(
  deps: DomainDeps,
  payload: { appointmentId: string; generation: number; purpose: 'failed' | 'cancelled' | 'replaced' },
  context: JobContext,
): Promise<number> {
  const work = await loadWorkContext(deps.db, payload.appointmentId);
  if (work === undefined) return 0;
  if (payload.purpose === 'failed' && (await alreadyConfirmed(deps, payload))) {
    // Never release the generation a confirmed appointment stands on.
    deps.logger.warn(
      { appointmentId: payload.appointmentId, generation: payload.generation },
      'compensation skipped: this generation is the confirmed one',
    );
    return 0;
  }
  // A cancel releases every generation still holding bookings; the others one generation.
  const segments =
    payload.purpose === 'cancelled'
      ? await deps.db
          .select()
          .from(appointmentSegments)
          .where(eq(appointmentSegments.appointmentId, payload.appointmentId))
      : await segmentsOf(deps, payload.appointmentId, payload.generation);
  const { client } = deps.calcom.forCompany(work.company);
  const reason =
    payload.purpose === 'cancelled'
      ? await cancelReason(deps, payload.appointmentId)
      : payload.purpose === 'replaced'
        ? 'Appointment rescheduled'
        : 'Composite booking failed: automatic compensation';

  const live = new Map<string, string | undefined>();
  for (const segment of segments) {
    if (segment.calcomBookingUid !== null && segment.status !== 'cancelled')
      live.set(segment.calcomBookingUid, segment.id);
  }
  const generation = payload.purpose === 'cancelled' ? undefined : payload.generation;
  for (const booking of await lookupGeneration(deps, work, segments, generation, context.signal)) {
    live.set(
      booking.uid,
      typeof booking.metadata?.[METADATA_KEY] === 'string'
        ? String(booking.metadata[METADATA_KEY])
        : undefined,
    );
  }
  for (const [uid, segmentId] of live) {
    try {
      await client.cancelBooking(
        storedTextId(uid),
        { cancellationReason: reason },
        { signal: context.signal },
      );
    } catch (error) {
      const gone =
        client.isAlreadyCancelled(error) || (isAppError(error) && error.code === 'BOOKING_NOT_FOUND');
      if (!gone) throw error;
    }
    if (segmentId !== undefined) {
      await deps.db
        .update(appointmentSegments)
        .set({ status: 'cancelled', calcomBookingUid: uid, updatedAt: new Date() })
        .where(eq(appointmentSegments.id, segmentId));
    }
  }
  await invalidateAvailability(deps, {
    staffId: null,
    eventTypeIds: segments.map((s) => s.calcomEventTypeId),
    spans: segments.map((s) => ({ start: s.startsAt, end: s.endsAt })),
  });
  if (work.appointment.needsAttention) {
    // An operator retried an exhausted compensation and it went through; cleared
    // before the final status so that nobody sees a settled appointment still flagged.
    await deps.db
      .update(appointments)
      .set({ needsAttention: false })
      .where(eq(appointments.id, payload.appointmentId));
  }
  await recordCompensated(deps, work, payload);
  await deps.outcomes.publish(payload.appointmentId);
  return live.size;
}

async function lookupGeneration(
  deps: DomainDeps,
  work: WorkContext,
  segments: SegmentRow[],
  generation: number | undefined,
  signal: AbortSignal | undefined,
) {
  if (segments.length === 0) return [];
  const { client } = deps.calcom.forCompany(work.company);
  return client.findBookingsByMetadata(
    {
      metadata: {
        [APPOINTMENT_KEY]: work.appointment.id,
        ...(generation === undefined ? {} : { [GENERATION_KEY]: String(generation) }),
      },
      attendeeEmail: work.customer.email ?? undefined,
      eventTypeIds: [...new Set(segments.map((s) => s.calcomEventTypeId))].map(storedEventTypeId),
      from: new Date(Math.min(...segments.map((s) => s.startsAt.getTime())) - 60_000).toISOString(),
      to: new Date(Math.max(...segments.map((s) => s.endsAt.getTime())) + 60_000).toISOString(),
    },
    { signal },
  );
}

async function recordCompensated(
  deps: DomainDeps,
  work: WorkContext,
  payload: { appointmentId: string; generation: number; purpose: 'failed' | 'cancelled' | 'replaced' },
): Promise<void> {
  const { appointment } = work;
  if (payload.purpose === 'cancelled') {
    await transition(deps.db, {
      appointmentId: appointment.id,
      from: ['cancelling'],
      to: 'cancelled',
      event: 'cancelled',
      actor: 'worker',
      set: { cancelledAt: new Date() },
      data: { generation: payload.generation },
    });
    return;
  }
  if (payload.purpose === 'replaced') return;
  if (payload.generation === 0 && appointment.status === 'pending') {
    const code = appointment.failureCode ?? 'INTERNAL';
    const alternatives =
      code === 'SLOT_UNAVAILABLE'
        ? await loadService(deps.db, appointment.companyId, appointment.serviceId, EXISTING)
            .then((service) =>
              compositeAlternatives(deps, work.company, service, appointment.startsAt, appointment.timezone),
            )
            .catch(() => [])
        : [];
    await transition(deps.db, {
      appointmentId: appointment.id,
      from: ['pending'],
      to: 'failed',
      event: 'failed',
      actor: 'worker',
      set: { failureCode: code },
      data: { code, compensated: true, alternatives },
    });
  } else if (payload.generation > 0 && appointment.status === 'rescheduling') {
    await transition(deps.db, {
      appointmentId: appointment.id,
      from: ['rescheduling'],
      to: 'confirmed',
      event: 'reschedule_failed',
      actor: 'worker',
      data: {
        generation: payload.generation,
        code: 'SLOT_UNAVAILABLE',
        requestId: await requestIdOf(deps, payload),
      },
    });
  }
}

async function cancelReason(deps: DomainDeps, appointmentId: string): Promise<string> {
  const rows = await deps.db
    .select({ data: appointmentHistory.data })
    .from(appointmentHistory)
    .where(
      and(
        eq(appointmentHistory.appointmentId, appointmentId),
        eq(appointmentHistory.event, 'cancel_requested'),
      ),
    );
  const reason = (rows.at(-1)?.data as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && reason !== '' ? reason : 'Cancelled via booking gateway';
}

/**
 * Compensation exhausted its attempts: never silent. The appointment is flagged for an operator,
 * the failure is logged at error level, and the failed job stays in the dashboard to be retried.
 */
export async function failCompensate(
  deps: DomainDeps,
  payload: { appointmentId: string; generation: number; purpose: string },
  error: unknown,
): Promise<void> {
  await flagNeedsAttention(deps.db, {
    appointmentId: payload.appointmentId,
    event: 'compensation_exhausted',
    actor: 'worker',
  });
  await deps.counters.increment('compensations_exhausted');
  deps.logger.error(
    {
      appointmentId: payload.appointmentId,
      generation: payload.generation,
      purpose: payload.purpose,
      ...errorLogFields(error).fields,
    },
    'composite compensation exhausted its attempts: Cal.com bookings may remain; needs attention',
  );
}
