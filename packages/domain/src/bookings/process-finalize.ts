import { AppError } from '@calgate/errors';
import { alreadyConfirmed, requestIdOf, type SegmentRow, segmentsOf } from '../appointments/state.ts';
import { transition } from '../appointments/transitions.ts';
import type { DomainDeps } from '../deps.ts';

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
          set: { startsAt: first.startsAt, endsAt: last.endsAt, currentGeneration: payload.generation },
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
