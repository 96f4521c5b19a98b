import { storedEventTypeId, storedTextId } from '@calgate/calendar';
import { appointmentHistory, appointmentSegments, appointments } from '@calgate/db';
import { errorLogFields, type JobContext } from '@calgate/jobs';
import { and, desc, eq, inArray } from 'drizzle-orm';
import { cancelInCalendar } from '../appointments/calcom-lookup.ts';
import { cancelRequestReason } from '../appointments/history.ts';
import { invalidateAvailability } from '../appointments/invalidate.ts';
import { APPOINTMENT_KEY, GENERATION_KEY, METADATA_KEY } from '../appointments/metadata.ts';
import { alreadyConfirmed, requestIdOf, type SegmentRow, segmentsOf } from '../appointments/state.ts';
import { flagNeedsAttention, transition } from '../appointments/transitions.ts';
import { loadWorkContext, type WorkContext } from '../appointments/work-context.ts';
import { compositeAlternatives } from '../availability/composite-availability.ts';
import type { DomainDeps } from '../deps.ts';
import { releaseHoldOf } from '../holds/release-hold.ts';
import { EXISTING, loadService } from '../services/catalog.ts';

/** `code`: why the segment failed (`failed`), which a failed reschedule reports. */
type CompensatePayload = {
  appointmentId: string;
  generation: number;
  purpose: 'failed' | 'cancelled' | 'replaced';
  code?: string | undefined;
};

/**
 * `composite.compensate`: cancels every live Cal.com booking of one generation — the uids Postgres
 * recorded and, by a metadata lookup in Cal.com, any booking made just before a crash — then
 * records the outcome. Already cancelled counts as done. Retried for a long time (capped backoff).
 */
export async function processCompensate(
  deps: DomainDeps,
  payload: CompensatePayload,
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
      ? await cancelRequestReason(deps.db, payload.appointmentId)
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
    await cancelInCalendar(client, storedTextId(uid), reason, context.signal);
    if (segmentId !== undefined) {
      await deps.db
        .update(appointmentSegments)
        .set({ status: 'cancelled', calcomBookingUid: uid, updatedAt: new Date() })
        .where(eq(appointmentSegments.id, segmentId));
    }
  }
  for (const s of segments) {
    await invalidateAvailability(deps, {
      staffId: s.staffId,
      eventTypeIds: [s.calcomEventTypeId],
      spans: [{ start: s.startsAt, end: s.endsAt }],
    });
  }
  if (
    work.appointment.needsAttention &&
    (await latestFlag(deps, payload.appointmentId)) === 'compensation_exhausted'
  ) {
    // An operator retried an exhausted compensation and it went through; cleared
    // before the final status so that nobody sees a settled appointment still flagged. A flag
    // raised for another reason since (a segment moved in Cal.com) stays.
    await deps.db
      .update(appointments)
      .set({ needsAttention: false })
      .where(eq(appointments.id, payload.appointmentId));
  }
  await recordCompensated(deps, work, payload);
  await deps.outcomes.publish(payload.appointmentId);
  return live.size;
}

/** The events that raise a composite's needs-attention flag. */
const FLAG_EVENTS = ['compensation_exhausted', 'segment_moved_in_calcom'] as const;

/** Which of `FLAG_EVENTS` raised the flag last. */
async function latestFlag(deps: DomainDeps, appointmentId: string): Promise<string | undefined> {
  const [row] = await deps.db
    .select({ event: appointmentHistory.event })
    .from(appointmentHistory)
    .where(
      and(
        eq(appointmentHistory.appointmentId, appointmentId),
        inArray(appointmentHistory.event, [...FLAG_EVENTS]),
      ),
    )
    .orderBy(desc(appointmentHistory.id))
    .limit(1);
  return row?.event;
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
  payload: CompensatePayload,
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
    await releaseHoldOf(deps, appointment.id);
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
    await releaseHoldOf(deps, appointment.id);
  } else if (payload.generation > 0 && appointment.status === 'rescheduling') {
    // The reason the failed segment recorded, for the caller (a taken slot has its own message).
    const failed = (await segmentsOf(deps, appointment.id, payload.generation)).find(
      (s) => s.status === 'failed' || s.failureReason !== null,
    );
    await transition(deps.db, {
      appointmentId: appointment.id,
      from: ['rescheduling'],
      to: 'confirmed',
      event: 'reschedule_failed',
      actor: 'worker',
      data: {
        generation: payload.generation,
        code: payload.code ?? 'SLOT_UNAVAILABLE',
        ...(failed?.failureReason
          ? { message: `segment ${failed.position + 1}: ${failed.failureReason}` }
          : {}),
        requestId: await requestIdOf(deps, payload),
      },
    });
  }
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
  await deps.db.transaction(async (tx) => {
    await flagNeedsAttention(tx, {
      appointmentId: payload.appointmentId,
      event: 'compensation_exhausted',
      actor: 'worker',
    });
    // In the history too: what an operator reads, and what tells a later successful retry that
    // the flag is its own to clear.
    await tx.insert(appointmentHistory).values({
      appointmentId: payload.appointmentId,
      event: 'compensation_exhausted',
      actor: 'worker',
      data: { generation: payload.generation, purpose: payload.purpose },
    });
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
