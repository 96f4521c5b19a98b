import { storedTextId } from '@calgate/calendar';
import { publicFailure } from '@calgate/errors';
import { errorLogFields, type JobContext } from '@calgate/jobs';
import { cancelInCalendar, findBookingByMetadata } from '../appointments/calcom-lookup.ts';
import { cancelRequestReason } from '../appointments/history.ts';
import { invalidateAvailability } from '../appointments/invalidate.ts';
import { flagNeedsAttention, transition } from '../appointments/transitions.ts';
import { loadWorkContext } from '../appointments/work-context.ts';
import type { DomainDeps } from '../deps.ts';
import { EXISTING, loadService } from '../services/catalog.ts';

/**
 * `booking.cancel`: cancels the appointment's Cal.com booking (already cancelled counts as done),
 * then records `cancelled`. An appointment that never got a uid is looked up by our metadata first,
 * so a booking whose create answer was lost is cancelled too.
 */
export async function processCancelBooking(
  deps: DomainDeps,
  payload: { appointmentId: string },
  context: JobContext,
): Promise<string> {
  const work = await loadWorkContext(deps.db, payload.appointmentId);
  if (work === undefined) return 'appointment-missing';
  const { appointment } = work;
  if (appointment.status !== 'cancelling') return `skipped-${appointment.status}`;
  const { client, keyId } = deps.calcom.forCompany(work.company);
  // With the uid known the cancel will be sent: its budget share is taken alongside the reason's read.
  const [reason] = await Promise.all([
    cancelRequestReason(deps.db, appointment.id),
    appointment.calcomBookingUid === null
      ? undefined
      : deps.calcom.prepay(keyId, appointment.companyId, context.signal),
  ]);

  let uid = appointment.calcomBookingUid;
  if (uid === null) {
    const service = await loadService(deps.db, appointment.companyId, appointment.serviceId, EXISTING);
    const found = await findBookingByMetadata(
      client,
      {
        ourId: appointment.id,
        attendeeEmail: work.customer.email ?? undefined,
        start: appointment.startsAt,
        end: appointment.endsAt,
        eventTypeIds: (service.segments[0]?.options ?? []).map((o) => o.eventTypeId),
      },
      context.signal,
    );
    uid = found?.uid ?? null;
  }
  if (uid !== null) {
    await cancelInCalendar(client, storedTextId(uid), reason, context.signal);
  }
  const [cancelled] = await Promise.all([
    transition(deps.db, {
      appointmentId: appointment.id,
      from: ['cancelling'],
      to: 'cancelled',
      event: 'cancelled',
      actor: 'worker',
      set: { cancelledAt: new Date(), calcomBookingUid: uid },
      data: { uid, reason },
    }),
    invalidateAvailability(deps, {
      staffId: appointment.staffId,
      spans: [{ start: appointment.startsAt, end: appointment.endsAt }],
    }),
  ]);
  // The committed status travels with the notice: the waiting request wakes without a read.
  await deps.outcomes.publish(appointment.id, cancelled ? 'cancelled' : undefined);
  return 'cancelled';
}

/**
 * A cancel that keeps failing is never silent: the appointment stays `cancelling`, flagged for an
 * operator, and the failed job stays visible for a retry.
 */
export async function failCancelBooking(
  deps: DomainDeps,
  payload: { appointmentId: string },
  error: unknown,
): Promise<void> {
  await flagNeedsAttention(deps.db, {
    appointmentId: payload.appointmentId,
    event: 'cancel_failed',
    actor: 'worker',
    set: { failureReason: publicFailure(error).message },
  });
  deps.logger.error(
    { appointmentId: payload.appointmentId, ...errorLogFields(error).fields },
    'cancel failed for good: needs attention',
  );
  await deps.outcomes.publish(payload.appointmentId);
}
