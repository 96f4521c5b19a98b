import { type Booking, type CalendarProvider, storableId, storedEventTypeId } from '@calgate/calendar';
import { appointments } from '@calgate/db';
import { AppError, isAppError, publicFailure } from '@calgate/errors';
import type { JobContext } from '@calgate/jobs';
import { formatInZone } from '@calgate/time';
import { eq } from 'drizzle-orm';
import { cancelInCalendar, findBookingByMetadata } from '../appointments/calcom-lookup.ts';
import {
  invalidateAndAnnounce,
  invalidateAvailability,
  staleAvailability,
} from '../appointments/invalidate.ts';
import { CANCELLED_BEFORE_CONFIRMATION, cancelLateBooking } from '../appointments/late-booking.ts';
import { METADATA_KEY } from '../appointments/metadata.ts';
import { transition } from '../appointments/transitions.ts';
import {
  calcomAttendee,
  calcomNotes,
  loadWorkContext,
  type WorkContext,
} from '../appointments/work-context.ts';
import { nearestAlternatives } from '../availability/simple-slots.ts';
import { freeStartsByOption } from '../availability/window.ts';
import type { DomainDeps } from '../deps.ts';
import { assertNotHeldForBooking, slotHeldError } from '../holds/guard.ts';
import { releaseUsedHold } from '../holds/release-hold.ts';
import {
  EXISTING,
  loadService,
  loadServiceCached,
  type SegmentStaffOption,
  type ServiceDefinition,
  staffOptions,
} from '../services/catalog.ts';
import { shareFor, takeShareEarly } from './early-share.ts';
import { loadWorkForSend } from './send-claim.ts';
import { refusedUnsent, unmarkBookingSent } from './send-marker.ts';

/**
 * `booking.create`: books a pending simple appointment in Cal.com, at most once.
 *
 * Before every send the job records the appointment's `booking_sent_at` (with its hold check, in
 * one transaction); a later attempt (after a timeout, a crash, a lost answer) first looks in
 * Cal.com for a booking carrying our id and adopts it.
 *
 * Every answer (not a throw, which is retried) leaves the appointment no longer pending: the
 * reservations of the hold it used, if any, are released then.
 */
export async function processCreateBooking(
  deps: DomainDeps,
  payload: { appointmentId: string; companyId?: string | undefined; holdId?: string | undefined },
  context: JobContext,
): Promise<string> {
  const outcome = await createBooking(deps, payload, context);
  if (payload.holdId !== undefined) await releaseUsedHold(deps, payload.holdId);
  return outcome;
}

async function createBooking(
  deps: DomainDeps,
  payload: { appointmentId: string; companyId?: string | undefined },
  context: JobContext,
): Promise<string> {
  // One round trip: the context, and for a named staff member the hold check and the marker; the
  // budget's share alongside it when this process knows the company's key.
  const early = takeShareEarly(deps, payload, context);
  const [loaded, settled] = await Promise.all([
    loadWorkForSend(deps.db, payload.appointmentId),
    early?.outcome,
  ]);
  if (loaded === undefined) return 'appointment-missing';
  const { work, claim } = loaded;
  const { appointment } = work;
  // Jobs enqueued before the marker moved to the appointment kept it in their data.
  const markedBefore = loaded.markedBefore || context.job.data.sent === true;
  if (appointment.status === 'cancelled' && markedBefore && appointment.calcomBookingUid === null) {
    return cancelIfBookedLate(deps, work, context.signal);
  }
  if (appointment.status !== 'pending' && appointment.status !== 'cancelling')
    return `skipped-${appointment.status}`;

  // Which event types can book it: configuration, reused for a few seconds (Cal.com has the last word).
  const service = await loadServiceCached(deps.db, appointment.companyId, appointment.serviceId, EXISTING);
  const options = staffOptions(service, 0, appointment.staffId ?? undefined);
  const { client, keyId } = deps.calcom.forCompany(work.company);
  const signal = context.signal;
  // The share taken early serves the first send (if it was taken as this company's, on this key).
  let prepaid = { share: early, settled };

  if (markedBefore || context.job.attemptsMade > 0) {
    const existing = await findOurBooking(client, work, options, signal);
    if (existing !== undefined) {
      deps.logger.info(
        { appointmentId: appointment.id, uid: existing.uid },
        'adopted a booking Cal.com already had',
      );
      return recordBooked(deps, work, options, existing, true);
    }
  }
  if (appointment.status === 'cancelling') return 'cancelled-before-booking';

  const candidates = await orderCandidates(deps, work, options);
  let sentThisRun = false;
  let lastConflict: unknown;
  for (const candidate of candidates) {
    // Before the send: another caller's hold on this staff member's time (a Cal.com booking would
    // not see it) and the at-most-once marker (recorded with the check, in the same transaction;
    // a later run looks in Cal.com first), then the budget's share. For the named staff member the
    // first round trip did the check and the marker, and the budget is all that is left.
    const checkedAlready = claim !== 'unchecked' && candidate.staffId === appointment.staffId;
    const [hold, paid] = await Promise.allSettled([
      checkedAlready
        ? claim === 'held'
          ? Promise.reject(slotHeldError())
          : Promise.resolve()
        : assertNotHeldForBooking(deps.db, {
            staffId: candidate.staffId,
            start: appointment.startsAt,
            end: appointment.endsAt,
            appointmentId: appointment.id,
            markSent: true,
          }),
      shareFor(deps, prepaid, { keyId, companyId: appointment.companyId, signal }),
    ]);
    prepaid = { share: undefined, settled: undefined };
    if (hold.status === 'rejected') {
      const error = hold.reason;
      if (!isAppError(error) || error.code !== 'SLOT_HELD') throw error;
      lastConflict = error;
      continue;
    }
    if (paid.status === 'rejected') {
      if (!sentThisRun && !markedBefore) await unmarkBookingSent(deps.db, appointment.id);
      throw paid.reason;
    }
    sentThisRun = true;
    try {
      const booking = await client.createBooking(
        {
          start: appointment.startsAt.toISOString(),
          eventTypeId: storedEventTypeId(candidate.eventTypeId),
          attendee: calcomAttendee(work.customer, appointment.timezone),
          ...calcomNotes(appointment.notes),
          metadata: { [METADATA_KEY]: appointment.id },
        },
        { signal },
      );
      return recordBooked(deps, work, options, booking, false);
    } catch (error) {
      // Throttled: nothing was booked by this run's sends, so its marker goes (see `refusedUnsent`).
      if (refusedUnsent(error) && !markedBefore) await unmarkBookingSent(deps.db, appointment.id);
      if (!isAppError(error) || error.code !== 'SLOT_UNAVAILABLE') throw error;
      lastConflict = error;
      deps.logger.info(
        { appointmentId: appointment.id, staffId: candidate.staffId },
        'slot taken for this staff',
      );
    }
  }
  // Marked by the first round trip for a send that never came (no candidate was the named staff member).
  if (claim === 'marked' && !sentThisRun && !markedBefore) await unmarkBookingSent(deps.db, appointment.id);
  throw lastConflict ?? new AppError('SLOT_UNAVAILABLE', 'No staff member is free at the requested time');
}

/** Staff free at the start (per the cache) first; without a free one, the first option decides. */
async function orderCandidates(
  deps: DomainDeps,
  work: WorkContext,
  options: SegmentStaffOption[],
): Promise<SegmentStaffOption[]> {
  if (options.length <= 1) return options;
  const start = work.appointment.startsAt;
  try {
    const perOption = await freeStartsByOption(deps, work.company, options, {
      start,
      end: new Date(start.getTime() + 60_000),
    });
    const free = perOption.filter((p) => p.starts.includes(start.getTime())).map((p) => p.option);
    return free.length > 0 ? free : options.slice(0, 1);
  } catch {
    return options;
  }
}

async function recordBooked(
  deps: DomainDeps,
  work: WorkContext,
  options: SegmentStaffOption[],
  booking: Booking,
  adopted: boolean,
): Promise<string> {
  const { appointment } = work;
  const eventTypeId = storableId(booking.eventTypeId);
  const bookingId = storableId(booking.id);
  const staffId = options.find((o) => o.eventTypeId === eventTypeId)?.staffId ?? appointment.staffId ?? null;
  const to = statusFor(booking);
  // The stale days are worked out while the transition commits; they are forgotten after it,
  // in the same round trip as the notice (a woken caller then never reads the taken slot).
  const [confirmed, stale] = await Promise.all([
    transition(deps.db, {
      appointmentId: appointment.id,
      from: ['pending'],
      to,
      event: to,
      actor: 'worker',
      set: {
        calcomBookingUid: booking.uid,
        calcomBookingId: bookingId,
        staffId,
        failureCode: null,
        failureReason: null,
      },
      data: { uid: booking.uid, bookingId, adopted },
    }),
    staleAvailability(deps, {
      staffId,
      eventTypeIds: [eventTypeId],
      spans: [{ start: appointment.startsAt, end: appointment.endsAt }],
    }),
  ]);
  if (!confirmed) {
    const [now] = await deps.db
      .select({ status: appointments.status, uid: appointments.calcomBookingUid })
      .from(appointments)
      .where(eq(appointments.id, appointment.id));
    // Cal.com's webhook may have recorded this very booking first: nothing to undo.
    if (now?.uid === booking.uid && now.status !== 'cancelling') {
      await invalidateAndAnnounce(deps, stale, appointment.id);
      return `${now.status}-by-webhook`;
    }
    // Cancelled while Cal.com was booking it: cancel what was just made, and record it.
    await cancelStray(deps, work, booking);
    await invalidateAndAnnounce(deps, stale, appointment.id);
    return 'cancelled-after-booking';
  }
  // The status this job committed travels with the notice: a waiting request needs no read to wake.
  await invalidateAndAnnounce(deps, stale, appointment.id, to);
  return to;
}

/**
 * What our appointment becomes with this Cal.com booking. An event type that needs the host's
 * confirmation makes a pending booking: `requested` until Cal.com's webhook (or reconciliation)
 * brings the host's answer. One adopted after a lost answer may carry that answer already: a
 * declined request is `rejected`, never confirmed.
 */
function statusFor(booking: Booking): 'confirmed' | 'requested' | 'rejected' {
  if (booking.status === 'pending') return 'requested';
  return booking.status === 'rejected' ? 'rejected' : 'confirmed';
}

/** The booking carrying this appointment's id in Cal.com, if any (a send whose answer was lost). */
function findOurBooking(
  client: CalendarProvider,
  work: WorkContext,
  options: SegmentStaffOption[],
  signal: AbortSignal | undefined,
): Promise<Booking | undefined> {
  const { appointment } = work;
  return findBookingByMetadata(
    client,
    {
      ourId: appointment.id,
      attendeeEmail: work.customer.email ?? undefined,
      start: appointment.startsAt,
      end: appointment.endsAt,
      eventTypeIds: options.map((o) => o.eventTypeId),
    },
    signal,
  );
}

/**
 * Cancelled while an earlier run's send was in flight, and the cancel job found no booking then:
 * if Cal.com made it after all (that send's answer was lost), it is cancelled there too.
 */
async function cancelIfBookedLate(
  deps: DomainDeps,
  work: WorkContext,
  signal: AbortSignal | undefined,
): Promise<string> {
  const { appointment } = work;
  const service = await loadService(deps.db, appointment.companyId, appointment.serviceId, EXISTING);
  const { client } = deps.calcom.forCompany(work.company);
  const found = await findOurBooking(client, work, staffOptions(service, 0, undefined), signal);
  if (found === undefined || found.status === 'cancelled') return 'skipped-cancelled';
  await cancelLateBooking(
    deps,
    work.company,
    appointment,
    { uid: found.uid, bookingId: storableId(found.id), eventTypeId: storableId(found.eventTypeId) },
    'worker',
    signal,
  );
  return 'cancelled-late-booking';
}

async function cancelStray(deps: DomainDeps, work: WorkContext, booking: Booking): Promise<void> {
  const { client } = deps.calcom.forCompany(work.company);
  await cancelInCalendar(client, booking.uid, CANCELLED_BEFORE_CONFIRMATION);
  await transition(deps.db, {
    appointmentId: work.appointment.id,
    from: ['cancelling', 'pending'],
    to: 'cancelled',
    event: 'cancelled',
    actor: 'worker',
    set: { calcomBookingUid: booking.uid, calcomBookingId: storableId(booking.id), cancelledAt: new Date() },
    data: { uid: booking.uid, reason: 'cancelled while booking' },
  });
}

/**
 * The create failed for good: record why, with up to three nearest free alternatives when the
 * slot was taken, and wake any caller waiting for the outcome. The reservations of the hold the
 * booking used, if any, are released (failed or adopted, it needs them no more).
 */
export async function failCreateBooking(
  deps: DomainDeps,
  payload: { appointmentId: string; holdId?: string | undefined },
  error: unknown,
  context: JobContext,
): Promise<void> {
  await recordCreateFailure(deps, payload, error, context);
  if (payload.holdId !== undefined) await releaseUsedHold(deps, payload.holdId);
}

async function recordCreateFailure(
  deps: DomainDeps,
  payload: { appointmentId: string },
  error: unknown,
  context: JobContext,
): Promise<void> {
  const work = await loadWorkContext(deps.db, payload.appointmentId);
  if (work === undefined || work.appointment.status !== 'pending') return;
  const code = isAppError(error) ? error.code : 'INTERNAL';
  const sent = work.appointment.bookingSentAt !== null || context.job.data.sent === true;
  // A refusal answers this attempt's send only: after an earlier attempt sent (its answer lost),
  // the slot may be taken by our own booking, which the retry's lookup did not find yet.
  const refused = isAppError(error) && (error.code === 'SLOT_UNAVAILABLE' || error.code === 'SLOT_HELD');
  const mayHaveLanded = sent && (!refused || context.job.attemptsMade > 0);
  if (mayHaveLanded) {
    // A send whose answer never came may have booked: if Cal.com has it, it is the customer's.
    const adopted = await adoptIfLanded(deps, work).catch(() => undefined);
    if (adopted !== undefined) return;
  }
  let alternatives: Awaited<ReturnType<typeof alternativesFor>> = [];
  if (code === 'SLOT_UNAVAILABLE') {
    // The cache believed the slot free; refresh that staff's day before offering alternatives.
    await invalidateAvailability(deps, {
      staffId: work.appointment.staffId,
      eventTypeIds: await eventTypeIdsOf(deps, work),
      spans: [{ start: work.appointment.startsAt, end: work.appointment.endsAt }],
    });
    alternatives = await alternativesFor(deps, work).catch(() => []);
  }
  const failed = await transition(deps.db, {
    appointmentId: work.appointment.id,
    from: ['pending'],
    to: 'failed',
    event: 'failed',
    actor: 'worker',
    set: {
      failureCode: code,
      failureReason: publicFailure(error).message,
      // A send whose answer never came may have booked; an operator must look.
      needsAttention: mayHaveLanded,
    },
    data: { code, alternatives },
  });
  if (mayHaveLanded) {
    deps.logger.error(
      { appointmentId: work.appointment.id, code },
      'booking failed after a send whose outcome is unknown: needs attention',
    );
  }
  await deps.outcomes.publish(work.appointment.id, failed ? 'failed' : undefined);
}

async function adoptIfLanded(deps: DomainDeps, work: WorkContext): Promise<string | undefined> {
  const service = await loadService(
    deps.db,
    work.appointment.companyId,
    work.appointment.serviceId,
    EXISTING,
  );
  const options = staffOptions(service, 0, work.appointment.staffId ?? undefined);
  const { client } = deps.calcom.forCompany(work.company);
  const existing = await findOurBooking(client, work, options, undefined);
  if (existing === undefined) return undefined;
  deps.logger.warn(
    { appointmentId: work.appointment.id, uid: existing.uid },
    'adopted a booking after the last attempt',
  );
  return recordBooked(deps, work, options, existing, true);
}

async function eventTypeIdsOf(deps: DomainDeps, work: WorkContext): Promise<number[]> {
  const service = await loadService(
    deps.db,
    work.appointment.companyId,
    work.appointment.serviceId,
    EXISTING,
  );
  return (service.segments[0]?.options ?? []).map((o) => o.eventTypeId);
}

/** Up to three free starts nearest the requested one, same day window ±1 day, any qualified staff. */
export async function alternativesFor(
  deps: DomainDeps,
  work: WorkContext,
  service?: ServiceDefinition,
): Promise<Array<{ start: string; end: string; staff: string[] }>> {
  const { appointment } = work;
  const definition =
    service ?? (await loadService(deps.db, appointment.companyId, appointment.serviceId, EXISTING));
  const options = staffOptions(definition, 0, appointment.staffId ?? undefined);
  const requested = appointment.startsAt.getTime();
  const window = {
    start: new Date(Math.max(Date.now(), requested - 86_400_000)),
    end: new Date(requested + 86_400_000),
  };
  const perOption = await freeStartsByOption(deps, work.company, options, window);
  const all = perOption.flatMap((p) => p.starts);
  const durationMs = definition.totalMinutes * 60_000;
  return nearestAlternatives(all, requested).map((start) => ({
    start: formatInZone(new Date(start), appointment.timezone),
    end: formatInZone(new Date(start + durationMs), appointment.timezone),
    staff: perOption.filter((p) => p.starts.includes(start)).map((p) => p.option.staffId),
  }));
}
