import { type Booking, storableId, storedTextId } from '@calgate/calendar';
import { isAppError, publicFailure } from '@calgate/errors';
import type { JobContext } from '@calgate/jobs';
import { historyData } from '../appointments/history.ts';
import { invalidateAvailability } from '../appointments/invalidate.ts';
import { transition } from '../appointments/transitions.ts';
import { loadHistory } from '../appointments/views.ts';
import { loadWorkContext, type WorkContext } from '../appointments/work-context.ts';
import type { DomainDeps } from '../deps.ts';
import { assertNotHeldForBooking } from '../holds/guard.ts';
import { EXISTING, loadService } from '../services/catalog.ts';
import { alternativesFor } from './process-create.ts';
import { refusedUnsent, unmarkUnsent } from './send-marker.ts';

export interface RescheduleTarget {
  requestId: string;
  start: string;
  timeZone: string;
  reason?: string;
}

/** The target of a reschedule request, as recorded in the history when it was accepted. */
export async function rescheduleTarget(
  deps: Pick<DomainDeps, 'db'>,
  appointmentId: string,
  requestId: string,
): Promise<
  { target: RescheduleTarget; outcome: 'rescheduled' | 'reschedule_failed' | undefined } | undefined
> {
  const history = await loadHistory(deps.db, appointmentId);
  const ofRequest = <E extends 'reschedule_requested' | 'rescheduled' | 'reschedule_failed'>(event: E) =>
    history.map((h) => historyData(h, event)).find((data) => data?.requestId === requestId);
  const requested = ofRequest('reschedule_requested');
  if (requested === undefined) return undefined;
  const outcome = ofRequest('rescheduled')
    ? 'rescheduled'
    : ofRequest('reschedule_failed')
      ? 'reschedule_failed'
      : undefined;
  return { target: requested, outcome };
}

/**
 * `booking.reschedule`: moves the Cal.com booking (Cal.com makes a new booking with a new uid and
 * cancels the old one), then records the new uid and times. A retry after a lost answer finds the
 * old booking already rescheduled and adopts its successor instead of sending again.
 */
export async function processRescheduleBooking(
  deps: DomainDeps,
  payload: { appointmentId: string; requestId: string },
  context: JobContext,
): Promise<string> {
  // The two reads are independent: they go together.
  const [work, found] = await Promise.all([
    loadWorkContext(deps.db, payload.appointmentId),
    rescheduleTarget(deps, payload.appointmentId, payload.requestId),
  ]);
  if (work === undefined) return 'appointment-missing';
  if (found === undefined || found.outcome !== undefined) return 'already-settled';
  const { appointment } = work;
  const oldUid = appointment.calcomBookingUid;
  if (appointment.status !== 'rescheduling' || oldUid === null) return `skipped-${appointment.status}`;
  const { client, keyId } = deps.calcom.forCompany(work.company);

  let booking: Booking | undefined;
  if (context.job.data.sent === true || context.job.attemptsMade > 0) {
    booking = await successorOf(client, oldUid, context.signal);
  }
  if (booking === undefined) {
    const target = new Date(found.target.start);
    const staffId = appointment.staffId;
    // Independent round trips before the send, waited for together: another caller's hold on the
    // new time (moving onto it would take it from them; Cal.com does not look), the at-most-once
    // marker, and the budget's share.
    const markedBefore = context.job.data.sent === true;
    const steps = await Promise.allSettled([
      staffId === null
        ? Promise.resolve()
        : assertNotHeldForBooking(deps.db, {
            staffId,
            start: target,
            end: new Date(target.getTime() + appointment.endsAt.getTime() - appointment.startsAt.getTime()),
            appointmentId: appointment.id,
          }),
      context.job.data.sent === true
        ? Promise.resolve()
        : context.job.updateData({ ...context.job.data, sent: true }),
      deps.calcom.prepay(keyId, appointment.companyId, context.signal),
    ]);
    if (steps[2].status === 'rejected') await unmarkUnsent(context, markedBefore);
    for (const step of [steps[1], steps[0], steps[2]]) if (step?.status === 'rejected') throw step.reason;
    booking = await client
      .rescheduleBooking(
        storedTextId(oldUid),
        { start: new Date(found.target.start).toISOString(), reschedulingReason: found.target.reason },
        { signal: context.signal },
      )
      .catch(async (error: unknown) => {
        if (refusedUnsent(error)) await unmarkUnsent(context, markedBefore);
        throw error;
      });
  }
  await recordRescheduled(deps, work, found.target, payload.requestId, booking);
  return 'rescheduled';
}

/** The booking Cal.com moved `oldUid` to, if it did (a send whose answer was lost). */
async function successorOf(
  client: ReturnType<DomainDeps['calcom']['forCompany']>['client'],
  oldUid: string,
  signal: AbortSignal | undefined,
): Promise<Booking | undefined> {
  const old = await client.getBooking(storedTextId(oldUid), { signal });
  const successor = old.rescheduledToUid;
  if (typeof successor !== 'string' || successor.length === 0) return undefined;
  return client.getBooking(successor, { signal });
}

/** The appointment moved to `booking` (Cal.com's new booking), its history and its cached days. */
async function recordRescheduled(
  deps: DomainDeps,
  work: WorkContext,
  target: RescheduleTarget,
  requestId: string,
  booking: Booking,
): Promise<void> {
  const { appointment } = work;
  const oldUid = appointment.calcomBookingUid;
  const start = new Date(booking.start);
  const end = new Date(booking.end);
  await Promise.all([
    transition(deps.db, {
      appointmentId: appointment.id,
      from: ['rescheduling'],
      // Cal.com may make the moved booking a request to the host again (an event type that needs
      // confirmation, moved by someone other than its host): `requested` until the host answers.
      to: booking.status === 'pending' ? 'requested' : 'confirmed',
      event: 'rescheduled',
      actor: 'worker',
      set: {
        calcomBookingUid: booking.uid,
        calcomBookingId: storableId(booking.id),
        startsAt: start,
        endsAt: end,
        timezone: target.timeZone,
      },
      data: {
        requestId,
        fromUid: oldUid,
        toUid: booking.uid,
        from: appointment.startsAt.toISOString(),
        to: start.toISOString(),
      },
    }),
    invalidateAvailability(deps, {
      staffId: appointment.staffId,
      eventTypeIds: [storableId(booking.eventTypeId)],
      spans: [
        { start: appointment.startsAt, end: appointment.endsAt },
        { start, end },
      ],
    }),
  ]);
  await deps.outcomes.publish(appointment.id);
}

/**
 * The reschedule failed for good: the original appointment stands (Cal.com only cancels the old
 * booking when the new one is made); record why, with alternatives when the slot was taken.
 *
 * After a send whose answer never came, Cal.com may have moved the booking all the same: it is
 * looked up once more, and a move found is recorded as the reschedule it was. When Cal.com cannot
 * say, the appointment is flagged for an operator (reconciliation also brings the move).
 */
export async function failRescheduleBooking(
  deps: DomainDeps,
  payload: { appointmentId: string; requestId: string },
  error: unknown,
  context?: Pick<JobContext, 'job'>,
): Promise<'failed' | 'adopted' | 'settled'> {
  const work = await loadWorkContext(deps.db, payload.appointmentId);
  const found = await rescheduleTarget(deps, payload.appointmentId, payload.requestId);
  if (work === undefined || found === undefined || found.outcome !== undefined) return 'settled';
  const code = isAppError(error) ? error.code : 'INTERNAL';
  const oldUid = work.appointment.calcomBookingUid;
  const mayHaveLanded =
    context?.job.data.sent === true &&
    oldUid !== null &&
    !(isAppError(error) && (error.code === 'SLOT_UNAVAILABLE' || error.code === 'SLOT_HELD'));
  let unknown = false;
  if (mayHaveLanded) {
    const { client } = deps.calcom.forCompany(work.company);
    const moved = await successorOf(client, oldUid, undefined).then(
      (booking) => booking ?? null,
      () => undefined,
    );
    if (moved !== null && moved !== undefined) {
      deps.logger.warn(
        { appointmentId: work.appointment.id, uid: moved.uid },
        'adopted a reschedule Cal.com made after the last attempt',
      );
      await recordRescheduled(deps, work, found.target, payload.requestId, moved);
      return 'adopted';
    }
    unknown = moved === undefined;
  }
  const alternatives =
    code === 'SLOT_UNAVAILABLE' ? await rescheduleAlternatives(deps, work, found.target) : [];
  await transition(deps.db, {
    appointmentId: payload.appointmentId,
    from: ['rescheduling'],
    to: 'confirmed',
    event: 'reschedule_failed',
    actor: 'worker',
    // Cal.com could not say whether it moved the booking: an operator must look.
    ...(unknown ? { set: { needsAttention: true } } : {}),
    data: {
      requestId: payload.requestId,
      code,
      message: publicFailure(error).message,
      alternatives,
    },
  });
  if (unknown) {
    deps.logger.error(
      { appointmentId: payload.appointmentId, code },
      'reschedule failed after a send whose outcome is unknown: needs attention',
    );
  }
  await deps.outcomes.publish(payload.appointmentId);
  return 'failed';
}

async function rescheduleAlternatives(deps: DomainDeps, work: WorkContext, target: RescheduleTarget) {
  const service = await loadService(
    deps.db,
    work.appointment.companyId,
    work.appointment.serviceId,
    EXISTING,
  );
  const requested = new Date(target.start);
  const shifted: WorkContext = {
    ...work,
    appointment: { ...work.appointment, startsAt: requested, timezone: target.timeZone },
  };
  await invalidateAvailability(deps, {
    staffId: work.appointment.staffId,
    spans: [{ start: requested, end: new Date(requested.getTime() + service.totalMinutes * 60_000) }],
  });
  return alternativesFor(deps, shifted, service).catch(() => []);
}
