import { newId } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { errorLogFields } from '@calgate/jobs';
import { assertTimeZone, parseInstant } from '@calgate/time';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import { latestHistoryData } from '../appointments/history.ts';
import { pendingReschedule } from '../appointments/state.ts';
import { transition } from '../appointments/transitions.ts';
import { loadAppointment } from '../appointments/views.ts';
import type { DomainDeps } from '../deps.ts';
import { EXISTING, loadService } from '../services/catalog.ts';
import { enqueueSafely } from './intake-shared.ts';
import { requestCompositeReschedule } from './request-composite.ts';

export interface RescheduleRequest {
  start: string;
  timeZone: string;
  reason?: string | undefined;
}

export type ChangeAccepted =
  | { kind: 'accepted'; requestId?: string }
  /** Nothing to do: the appointment is already where the request wants it. */
  | { kind: 'noop' };

function invalidState(message: string, status: string): AppError {
  return new AppError('INVALID_STATE', message, { details: { status } });
}

/**
 * Accepts a reschedule: marks the appointment `rescheduling` with the target in its history and
 * enqueues `booking.reschedule`. Repeating the same request while it runs, or after it landed, is a no-op.
 */
export async function requestReschedule(
  deps: Pick<DomainDeps, 'db' | 'queues' | 'logger' | 'slotCache' | 'calcom'>,
  company: CompanyKeySource,
  appointmentId: string,
  request: RescheduleRequest,
): Promise<ChangeAccepted> {
  const companyId = company.id;
  assertTimeZone(request.timeZone);
  const start = parseInstant(request.start, 'start');
  if (start.getTime() <= Date.now()) {
    throw new AppError('VALIDATION_FAILED', 'start: must be in the future', { details: { field: 'start' } });
  }
  const appointment = await loadAppointment(deps.db, companyId, appointmentId);
  if (appointment.status === 'rescheduling') {
    const pending = await pendingReschedule(deps.db, appointmentId);
    if (pending !== undefined && pending.start.getTime() === start.getTime()) {
      return { kind: 'accepted', requestId: pending.requestId };
    }
    throw invalidState('A reschedule of this booking is already in progress', appointment.status);
  }
  if (appointment.status === 'requested') {
    throw invalidState(
      'A booking waiting for the host to confirm it in Cal.com cannot be rescheduled; cancel it and book again',
      appointment.status,
    );
  }
  if (appointment.status !== 'confirmed') {
    throw invalidState(`A ${appointment.status} booking cannot be rescheduled`, appointment.status);
  }
  if (appointment.startsAt.getTime() === start.getTime()) return { kind: 'noop' };
  const service = await loadService(deps.db, companyId, appointment.serviceId, EXISTING);
  if (service.kind === 'composite') {
    return requestCompositeReschedule(deps, company, service, appointment, start, request);
  }

  const requestId = newId('rsq');
  const moved = await transition(deps.db, {
    appointmentId,
    from: ['confirmed'],
    to: 'rescheduling',
    event: 'reschedule_requested',
    actor: 'api',
    set: { rescheduleRequestId: requestId, rescheduleStart: start, rescheduleGeneration: null },
    data: { requestId, start: start.toISOString(), timeZone: request.timeZone, reason: request.reason },
  });
  if (!moved) throw invalidState('The booking changed meanwhile; read it and try again', 'changed');
  try {
    await deps.queues.enqueue('booking.reschedule', { appointmentId, requestId }, { fairGroup: companyId });
  } catch (error) {
    deps.logger.warn(
      { ...errorLogFields(error).fields, appointmentId },
      'enqueue failed; the sweeper will enqueue it',
    );
  }
  return { kind: 'accepted', requestId };
}

/**
 * Accepts a cancel: marks the appointment `cancelling` and enqueues `booking.cancel`. Cancelling a
 * cancelled appointment is a no-op, and a cancelling one keeps its cancel (re-run if it failed for
 * good), so the request is idempotent.
 */
export async function requestCancel(
  deps: Pick<DomainDeps, 'db' | 'queues' | 'logger'>,
  companyId: string,
  appointmentId: string,
  request: { cancellationReason?: string | undefined },
): Promise<ChangeAccepted> {
  const appointment = await loadAppointment(deps.db, companyId, appointmentId);
  const composite = appointment.compositeGroupUid !== null;
  /** `again`: a repeated cancel also re-runs a cancel job that failed for good (its id is kept). */
  const enqueueCancel = async (again: boolean) => {
    try {
      if (!composite) {
        if (again) await deps.queues.ensure('booking.cancel', { appointmentId });
        else await enqueueSafely(deps, 'booking.cancel', { appointmentId }, companyId);
        return;
      }
      // Every segment of every generation is cancelled, durably, before the appointment is.
      const compensation = { appointmentId, generation: 0, purpose: 'cancelled' } as const;
      if (again) await deps.queues.ensure('composite.compensate', compensation);
      else await deps.queues.enqueue('composite.compensate', compensation);
    } catch (error) {
      deps.logger.warn(
        { ...errorLogFields(error).fields, appointmentId },
        'enqueue failed; the sweeper will enqueue it',
      );
    }
  };
  if (appointment.status === 'cancelled') return { kind: 'noop' };
  if (appointment.status === 'cancelling') {
    // A cancel that failed for good (flagged for an operator) is tried again: the flag goes, and
    // comes back if it fails again.
    if (appointment.needsAttention) {
      const earlier = await latestHistoryData(deps.db, appointmentId, 'cancel_requested');
      await transition(deps.db, {
        appointmentId,
        from: ['cancelling'],
        to: 'cancelling',
        event: 'cancel_requested',
        actor: 'api',
        set: { needsAttention: false },
        data: { reason: request.cancellationReason ?? earlier?.reason ?? null, again: true },
      });
    }
    await enqueueCancel(true);
    return { kind: 'accepted' };
  }
  // A `requested` booking (waiting for the host in Cal.com) is cancelled like a confirmed one.
  const cancellable = ['pending', 'confirmed', 'requested'] as const;
  if (!(cancellable as readonly string[]).includes(appointment.status)) {
    throw invalidState(`A ${appointment.status} booking cannot be cancelled`, appointment.status);
  }
  const moved = await transition(deps.db, {
    appointmentId,
    from: [...cancellable],
    to: 'cancelling',
    event: 'cancel_requested',
    actor: 'api',
    data: { reason: request.cancellationReason ?? null },
  });
  if (!moved) throw invalidState('The booking changed meanwhile; read it and try again', 'changed');
  await enqueueCancel(false);
  return { kind: 'accepted' };
}
