import { appointmentHistory } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, desc, eq, sql } from 'drizzle-orm';
import {
  alreadyConfirmed,
  currentGeneration,
  requestIdOf,
  type SegmentRow,
  segmentsOf,
} from '../appointments/state.ts';
import { transition } from '../appointments/transitions.ts';
import type { DomainDeps } from '../deps.ts';
import { releaseHoldOf } from '../holds/release-hold.ts';

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
  // The generation the appointment stands on now, which this one replaces: not always the one
  // before it (a reschedule that failed left a generation nothing stands on).
  const replaced =
    payload.generation === 0 ? undefined : await currentGeneration(deps, payload.appointmentId);
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
          // The staff member the new segments are with (one for all, else none), as intake records it.
          set: {
            startsAt: first.startsAt,
            endsAt: last.endsAt,
            currentGeneration: payload.generation,
            staffId: new Set(segments.map((s) => s.staffId)).size === 1 ? first.staffId : null,
          },
          data: {
            generation: payload.generation,
            replaced,
            uids,
            requestId: await requestIdOf(deps, payload),
          },
        });
  if (!done && (await alreadyConfirmed(deps, payload))) {
    // A retry after a crash that came right after the confirmation: nothing left to do but make
    // sure the replaced generation is released (its job id makes that idempotent).
    if (payload.generation > 0) {
      await releaseReplaced(deps, payload.appointmentId, await replacedBy(deps, payload));
    }
    await deps.outcomes.publish(payload.appointmentId);
    return 'confirmed-before';
  }
  if (replaced !== undefined && done) await releaseReplaced(deps, payload.appointmentId, replaced);
  if (payload.generation === 0 && done) await releaseHoldOf(deps, payload.appointmentId);
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

/** Releases the bookings of the generation a reschedule replaced (its job id makes it idempotent). */
async function releaseReplaced(deps: DomainDeps, appointmentId: string, generation: number): Promise<void> {
  await deps.queues.enqueue('composite.compensate', { appointmentId, generation, purpose: 'replaced' });
}

/**
 * The generation that `payload`'s confirmed, as its history row recorded it. Rows written before
 * the row named it: the generation before (what every reschedule then replaced).
 */
async function replacedBy(
  deps: DomainDeps,
  payload: { appointmentId: string; generation: number },
): Promise<number> {
  const [row] = await deps.db
    .select({ replaced: sql<number | null>`(${appointmentHistory.data} ->> 'replaced')::int` })
    .from(appointmentHistory)
    .where(
      and(
        eq(appointmentHistory.appointmentId, payload.appointmentId),
        eq(appointmentHistory.event, 'rescheduled'),
        sql`(${appointmentHistory.data} ->> 'generation')::int = ${payload.generation}`,
      ),
    )
    .orderBy(desc(appointmentHistory.id))
    .limit(1);
  return row?.replaced ?? payload.generation - 1;
}
