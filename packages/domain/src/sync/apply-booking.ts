import {
  appointmentHistory,
  appointmentSegments,
  appointments,
  companies,
  eventTypeMappings,
  type HistoryEvent,
  newId,
  staff,
} from '@calgate/db';
import { errorLogFields } from '@calgate/jobs';
import { isValidTimeZone } from '@calgate/time';
import { and, desc, eq, inArray, isNull, type SQL } from 'drizzle-orm';
import { eventTypeInScope, mappingInScope } from '../accounts/scope.ts';
import { normalizePhone } from '../appointments/customers/phone.ts';
import { upsertCustomer } from '../appointments/customers/upsert.ts';
import { invalidateAvailability } from '../appointments/invalidate.ts';
import { cancelLateBooking } from '../appointments/late-booking.ts';
import { APPOINTMENT_KEY, METADATA_KEY } from '../appointments/metadata.ts';
import { outboundTypesFor, writeOutboundEvents } from '../appointments/outbound-events.ts';
import { currentGeneration } from '../appointments/state.ts';
import { flagNeedsAttention, transition } from '../appointments/transitions.ts';
import { isUniqueViolation } from '../appointments/unique-violation.ts';
import type { AppointmentRow } from '../appointments/views.ts';
import type { DomainDeps } from '../deps.ts';
import { withChainLock } from './chain-lock.ts';
import { sharedChainOwner } from './chain-owner.ts';
import type { ObservedBooking } from './observed.ts';

export type ApplyDeps = Pick<
  DomainDeps,
  'db' | 'redis' | 'redisPrefix' | 'queues' | 'slotCache' | 'outcomes' | 'logger' | 'counters' | 'calcom'
>;

export interface ApplyContext {
  /**
   * The company whose scope the observation is applied in: the one a per-company URL names, the
   * one whose scope owns the event type (global URL), or the one being reconciled. Nothing of
   * another company is ever looked up or changed.
   */
  companyId: string;
  actor: 'webhook' | 'reconcile';
}

export interface ApplyResult {
  outcome: 'applied' | 'unchanged' | 'ignored';
  detail: string;
  appointmentId?: string;
}

type Status = AppointmentRow['status'];
type SegmentRow = typeof appointmentSegments.$inferSelect;

const STATUS_OF: Record<ObservedBooking['status'], Status> = {
  accepted: 'confirmed',
  pending: 'requested',
  cancelled: 'cancelled',
  rejected: 'rejected',
  completed: 'completed',
};

/**
 * Brings our record in step with what Cal.com says about one booking. The same function serves
 * webhooks and reconciliation, so a missed webhook and a late one converge on the same state.
 * Safe to call again with the same observation, and in any order: Cal.com's `iCalSequence`
 * orders the changes of one booking chain, and a lock per chain serialises concurrent deliveries.
 */
export async function applyObservedBooking(
  deps: ApplyDeps,
  observed: ObservedBooking,
  context: ApplyContext,
  recordedConcurrently = false,
): Promise<ApplyResult> {
  if (observed.toUid !== null) {
    return { outcome: 'unchanged', detail: `replaced by ${observed.toUid}; that booking carries the change` };
  }
  const inScope = await eventTypeInScope(deps.db, context.companyId, observed.eventTypeId);
  const chain = observed.icalUid ?? observed.fromUid ?? observed.uid;
  const applied = await withChainLock(deps.redis, `${deps.redisPrefix}:chain:${chain}`, async () => {
    // The company's own appointments follow their bookings, even on an event type that has left
    // its scope since (unassigned: "existing appointments are kept as they are").
    const segment = await findSegment(deps, observed, context.companyId);
    if (segment !== undefined) return applyToSegment(deps, segment, observed, context);
    const appointment = await findAppointment(deps, observed, context.companyId);
    if (appointment !== undefined) return applyToAppointment(deps, appointment, observed, context);
    if (!inScope) {
      await deps.counters.increment(
        context.actor === 'webhook' ? 'webhooks_out_of_scope' : 'reconcile_out_of_scope',
      );
      return {
        outcome: 'ignored' as const,
        detail: `event type ${observed.eventTypeId ?? 'unknown'} is outside the company's scope`,
      };
    }
    // Another company's booking on an event type that moved to this one: never recorded here.
    const owner = await sharedChainOwner(deps.db, observed);
    if (owner !== undefined && owner !== context.companyId) return { owner };
    return recordForeignBooking(deps, observed, context);
  });
  // Applied as its owner's (after this company's chain lock is released): its webhook may be lost.
  if ('owner' in applied)
    return applyObservedBooking(deps, observed, { ...context, companyId: applied.owner });
  // Another delivery of this booking recorded it first, under another chain key (Cal.com sends a
  // rejection without the request's iCal uid): applied once more, it finds that row.
  if ('concurrent' in applied) {
    if (!recordedConcurrently) return applyObservedBooking(deps, observed, context, true);
    return { outcome: 'unchanged', detail: 'recorded concurrently' };
  }
  return applied;
}

/** A segment of one of the company's composites: by our id in the metadata, else by uid. */
async function findSegment(
  deps: ApplyDeps,
  observed: ObservedBooking,
  companyId: string,
): Promise<SegmentRow | undefined> {
  const mine = (condition: SQL | undefined) =>
    deps.db
      .select({ segment: appointmentSegments })
      .from(appointmentSegments)
      .innerJoin(appointments, eq(appointments.id, appointmentSegments.appointmentId))
      .where(and(condition, eq(appointments.companyId, companyId)))
      .orderBy(desc(appointmentSegments.generation))
      .limit(1);
  const ourId = observed.metadata[METADATA_KEY];
  if (typeof observed.metadata[APPOINTMENT_KEY] === 'string' && typeof ourId === 'string') {
    const [byId] = await mine(eq(appointmentSegments.id, ourId));
    if (byId !== undefined && continuesOurs(byId.segment, observed)) return byId.segment;
  }
  const uids = [observed.uid, ...(observed.fromUid === null ? [] : [observed.fromUid])];
  const [byUid] = await mine(inArray(appointmentSegments.calcomBookingUid, uids));
  return byUid?.segment;
}

/**
 * Whether a booking whose metadata names our appointment (or segment) is really its booking.
 * Anyone booking through Cal.com's pages can write metadata: it names ours only while ours has no
 * booking yet (our own create's webhook can come before its answer), or when the booking is ours
 * or continues its chain (the same iCal uid, or it replaced ours).
 */
function continuesOurs(
  ours: { calcomBookingUid: string | null; calcomIcalUid?: string | null },
  observed: ObservedBooking,
): boolean {
  return (
    ours.calcomBookingUid === null ||
    ours.calcomBookingUid === observed.uid ||
    ours.calcomBookingUid === observed.fromUid ||
    (observed.icalUid !== null && ours.calcomIcalUid === observed.icalUid)
  );
}

async function findAppointment(
  deps: ApplyDeps,
  observed: ObservedBooking,
  companyId: string,
): Promise<AppointmentRow | undefined> {
  const first = async (condition: SQL) =>
    (
      await deps.db
        .select()
        .from(appointments)
        .where(and(condition, eq(appointments.companyId, companyId)))
        .limit(1)
    )[0];

  const byUid = await first(eq(appointments.calcomBookingUid, observed.uid));
  if (byUid !== undefined) return byUid;
  const ourId = observed.metadata[METADATA_KEY];
  if (typeof ourId === 'string' && ourId.startsWith('apt_')) {
    const ours = await first(eq(appointments.id, ourId));
    if (ours !== undefined && continuesOurs(ours, observed)) return ours;
  }
  if (observed.fromUid !== null) {
    const previous = await first(eq(appointments.calcomBookingUid, observed.fromUid));
    if (previous !== undefined) return previous;
  }
  if (observed.icalUid !== null) return first(eq(appointments.calcomIcalUid, observed.icalUid));
  return undefined;
}

async function applyToAppointment(
  deps: ApplyDeps,
  row: AppointmentRow,
  observed: ObservedBooking,
  context: ApplyContext,
): Promise<ApplyResult> {
  const result = (outcome: ApplyResult['outcome'], detail: string): ApplyResult => ({
    outcome,
    detail,
    appointmentId: row.id,
  });
  // iCal sequences order the changes of one chain only: another chain's are not comparable.
  const sequenced =
    observed.icalUid !== null &&
    observed.icalUid === row.calcomIcalUid &&
    observed.sequence !== null &&
    row.calcomSequence !== null;
  if (sequenced && (observed.sequence as number) < (row.calcomSequence as number)) {
    return result('unchanged', `stale: sequence ${observed.sequence} < ${row.calcomSequence}`);
  }
  const current = row.calcomBookingUid;
  // A later booking of the same chain: it names ours as the one it replaced, or its iCal
  // sequence says it is newer (a cancel of the rescheduled booking can arrive before the reschedule).
  const newer = sequenced && (observed.sequence as number) > (row.calcomSequence as number);
  const moved = current !== null && current !== observed.uid && (observed.fromUid === current || newer);
  if (current !== null && current !== observed.uid && !moved) {
    return result('unchanged', `an earlier booking of the chain (now ${current})`);
  }
  const calcomFields = {
    calcomBookingUid: observed.uid,
    calcomBookingId: observed.bookingId ?? row.calcomBookingId,
    calcomIcalUid: observed.icalUid ?? row.calcomIcalUid,
    calcomSequence: observed.sequence ?? row.calcomSequence,
  };
  const change = async (from: Status[], to: Status, event: HistoryEvent, set = {}, data = {}) => {
    const done = await transition(deps.db, {
      appointmentId: row.id,
      from,
      to,
      event,
      actor: context.actor,
      set: { ...calcomFields, ...set },
      data: { uid: observed.uid, ...data },
    });
    if (!done) return result('unchanged', `appointment moved on concurrently (was ${row.status})`);
    await invalidateAvailability(deps, {
      staffId: row.staffId,
      eventTypeIds: observed.eventTypeId === null ? [] : [observed.eventTypeId],
      spans: [
        { start: row.startsAt, end: row.endsAt },
        { start: observed.start, end: observed.end },
      ],
    });
    await deps.outcomes.publish(row.id);
    return result('applied', `${row.status} -> ${to}`);
  };

  // Our own reschedule job records its result itself; a settled appointment follows the move.
  const movedInCalcom = (to: Status) => {
    if (row.status !== 'confirmed' && row.status !== 'requested') {
      return result('unchanged', `reschedule while ${row.status}`);
    }
    return change(
      ['confirmed', 'requested'],
      to,
      'rescheduled',
      { startsAt: observed.start, endsAt: observed.end },
      { fromUid: current, start: observed.start.toISOString(), end: observed.end.toISOString() },
    );
  };

  switch (observed.status) {
    case 'accepted': {
      // Rescheduled in Cal.com (a request the host moved is accepted with it).
      if (moved) return movedInCalcom('confirmed');
      if (row.status === 'pending' && current === null) {
        // Our own booking, confirmed by Cal.com before (or instead of) the worker recording it.
        return change(['pending'], 'confirmed', 'confirmed', { failureCode: null, failureReason: null });
      }
      if (row.status === 'requested') return change(['requested'], 'confirmed', 'confirmed');
      if (row.status === 'cancelled' && current === null && observed.metadata[METADATA_KEY] === row.id) {
        return cancelBookedAfterCancel(deps, row, observed, context);
      }
      if (row.status === 'failed' && current === null && observed.metadata[METADATA_KEY] === row.id) {
        return flagBookedAfterFailure(deps, row, observed, context);
      }
      if (
        row.status === 'confirmed' &&
        (row.startsAt.getTime() !== observed.start.getTime() ||
          row.endsAt.getTime() !== observed.end.getTime())
      ) {
        return change(['confirmed'], 'confirmed', 'times_changed', {
          startsAt: observed.start,
          endsAt: observed.end,
        });
      }
      await recordCalcomFields(deps, row, calcomFields);
      return result('unchanged', 'already applied');
    }
    case 'pending':
      // Moved by someone other than the host: a request to the host again, at the new time.
      if (moved) return movedInCalcom('requested');
      if (row.status === 'pending' && current === null) return change(['pending'], 'requested', 'requested');
      // A request to the host, made after its appointment was cancelled: it would block the slot.
      if (row.status === 'cancelled' && current === null && observed.metadata[METADATA_KEY] === row.id) {
        return cancelBookedAfterCancel(deps, row, observed, context);
      }
      if (row.status === 'failed' && current === null && observed.metadata[METADATA_KEY] === row.id) {
        return flagBookedAfterFailure(deps, row, observed, context);
      }
      return result('unchanged', `requested while ${row.status}`);
    case 'cancelled': {
      // The chain's current booking (or a later one) was cancelled: the appointment is over.
      const live: Status[] = ['confirmed', 'pending', 'requested', 'rescheduling', 'cancelling'];
      if (!live.includes(row.status)) return result('unchanged', `already ${row.status}`);
      return change(
        live,
        'cancelled',
        'cancelled',
        // A later booking of the chain also brings its times (its reschedule may arrive after).
        moved
          ? { cancelledAt: new Date(), startsAt: observed.start, endsAt: observed.end }
          : { cancelledAt: new Date() },
        { reason: observed.cancellationReason, by: 'calcom' },
      );
    }
    case 'rejected':
      if (!['requested', 'pending', 'confirmed'].includes(row.status)) {
        return result('unchanged', `already ${row.status}`);
      }
      return change(['requested', 'pending', 'confirmed'], 'rejected', 'rejected');
    case 'completed':
      if (row.status !== 'confirmed') return result('unchanged', `meeting ended while ${row.status}`);
      return change(['confirmed'], 'completed', 'completed');
  }
}

async function recordCalcomFields(
  deps: ApplyDeps,
  row: AppointmentRow,
  fields: { calcomIcalUid: string | null; calcomSequence: number | null },
): Promise<void> {
  if (fields.calcomIcalUid === row.calcomIcalUid && fields.calcomSequence === row.calcomSequence) return;
  await deps.db
    .update(appointments)
    .set({ calcomIcalUid: fields.calcomIcalUid, calcomSequence: fields.calcomSequence })
    .where(eq(appointments.id, row.id));
}

/**
 * A change to one segment of a composite. Our own flows book, replace and release segments and
 * record that themselves; only a change made in Cal.com to a segment of the confirmed generation
 * matters here: a cancelled segment cancels the whole appointment (durably, through the
 * compensation job), a moved one is recorded and flagged for an operator.
 */
async function applyToSegment(
  deps: ApplyDeps,
  segment: SegmentRow,
  observed: ObservedBooking,
  context: ApplyContext,
): Promise<ApplyResult> {
  const appointmentId = segment.appointmentId;
  const result = (outcome: ApplyResult['outcome'], detail: string): ApplyResult => ({
    outcome,
    detail,
    appointmentId,
  });
  const [appointment] = await deps.db
    .select()
    .from(appointments)
    .where(and(eq(appointments.id, appointmentId), eq(appointments.companyId, context.companyId)))
    .limit(1);
  if (appointment === undefined) return result('ignored', 'segment without appointment');
  const settled =
    appointment.status === 'confirmed' &&
    segment.status === 'booked' &&
    segment.generation === (await currentGeneration(deps, appointmentId));

  if (observed.status === 'cancelled' && segment.calcomBookingUid === observed.uid) {
    if (!settled)
      return result('unchanged', `segment ${segment.status} of an appointment ${appointment.status}`);
    await deps.db
      .update(appointmentSegments)
      .set({ status: 'cancelled', updatedAt: new Date() })
      .where(eq(appointmentSegments.id, segment.id));
    const started = await transition(deps.db, {
      appointmentId,
      from: ['confirmed'],
      to: 'cancelling',
      event: 'cancel_requested',
      actor: context.actor,
      data: {
        reason: 'A segment of this appointment was cancelled in Cal.com',
        by: 'calcom',
        segmentId: segment.id,
        uid: observed.uid,
      },
    });
    if (!started) return result('unchanged', 'appointment moved on concurrently');
    try {
      await deps.queues.enqueue('composite.compensate', {
        appointmentId,
        generation: segment.generation,
        purpose: 'cancelled',
        round: 'calcom',
      });
    } catch (error) {
      deps.logger.warn(
        { ...errorLogFields(error).fields, appointmentId },
        'enqueue failed; the sweeper will release the segments',
      );
    }
    await deps.outcomes.publish(appointmentId);
    return result('applied', 'segment cancelled in Cal.com: cancelling the other segments');
  }
  if (
    observed.status === 'accepted' &&
    observed.fromUid !== null &&
    segment.calcomBookingUid === observed.fromUid
  ) {
    if (!settled)
      return result('unchanged', `segment ${segment.status} of an appointment ${appointment.status}`);
    await deps.db.transaction(async (tx) => {
      await tx
        .update(appointmentSegments)
        .set({
          calcomBookingUid: observed.uid,
          calcomBookingId: observed.bookingId,
          startsAt: observed.start,
          endsAt: observed.end,
          updatedAt: new Date(),
        })
        .where(eq(appointmentSegments.id, segment.id));
      await flagNeedsAttention(tx, { appointmentId, event: 'segment_moved_in_calcom', actor: context.actor });
      await tx.insert(appointmentHistory).values({
        appointmentId,
        event: 'segment_moved_in_calcom',
        fromStatus: appointment.status,
        toStatus: appointment.status,
        actor: context.actor,
        data: {
          segmentId: segment.id,
          fromUid: observed.fromUid,
          uid: observed.uid,
          start: observed.start.toISOString(),
        },
      });
    });
    await invalidateAvailability(deps, {
      staffId: segment.staffId,
      eventTypeIds: [segment.calcomEventTypeId],
      spans: [
        { start: segment.startsAt, end: segment.endsAt },
        { start: observed.start, end: observed.end },
      ],
    });
    deps.logger.warn(
      { appointmentId, segmentId: segment.id },
      'a composite segment was moved in Cal.com; needs attention',
    );
    return result('applied', 'segment moved in Cal.com: flagged for an operator');
  }
  return result('unchanged', 'segment change made by our own flow');
}

/**
 * A booking made directly in Cal.com: recorded as an appointment of the service its event type
 * is mapped to, with the customer from its attendee.
 */
async function recordForeignBooking(
  deps: ApplyDeps,
  observed: ObservedBooking,
  context: ApplyContext,
): Promise<ApplyResult | { concurrent: true }> {
  if (observed.eventTypeId === null) return { outcome: 'ignored', detail: 'no event type' };
  const mappings = await deps.db
    .select({ mapping: eventTypeMappings, staff, company: companies })
    .from(eventTypeMappings)
    .innerJoin(staff, eq(staff.id, eventTypeMappings.staffId))
    .innerJoin(companies, eq(companies.id, eventTypeMappings.companyId))
    .where(
      and(
        eq(eventTypeMappings.calcomEventTypeId, observed.eventTypeId),
        isNull(eventTypeMappings.deletedAt),
        eq(eventTypeMappings.companyId, context.companyId),
        mappingInScope(),
      ),
    );
  if (mappings.length === 0) {
    return { outcome: 'ignored', detail: `event type ${observed.eventTypeId} is not mapped to any service` };
  }
  const chosen =
    mappings.find(
      (m) => m.staff.calcomUserId !== null && m.staff.calcomUserId === observed.organizerUserId,
    ) ?? (mappings[0] as (typeof mappings)[number]);
  if (observed.attendee === null) return { outcome: 'ignored', detail: 'no attendee with an email or phone' };
  const timezone =
    observed.attendee.timeZone !== null && isValidTimeZone(observed.attendee.timeZone)
      ? observed.attendee.timeZone
      : chosen.company.timezone;
  const status = STATUS_OF[observed.status];
  const id = newId('apt');
  try {
    await deps.db.transaction(async (tx) => {
      const customerId = await upsertCustomer(tx, chosen.company.id, {
        name: observed.attendee?.name ?? '',
        email: observed.attendee?.email ?? undefined,
        phone: e164OrRaw(observed.attendee?.phone ?? null),
      });
      await tx.insert(appointments).values({
        id,
        companyId: chosen.company.id,
        serviceId: chosen.mapping.serviceId,
        customerId,
        staffId: chosen.staff.id,
        status,
        startsAt: observed.start,
        endsAt: observed.end,
        timezone,
        calcomBookingUid: observed.uid,
        calcomBookingId: observed.bookingId,
        calcomIcalUid: observed.icalUid,
        calcomSequence: observed.sequence,
        source: context.actor === 'webhook' ? 'calcom' : 'reconcile',
        ...(status === 'cancelled' ? { cancelledAt: new Date() } : {}),
      });
      await tx.insert(appointmentHistory).values({
        appointmentId: id,
        event: 'recorded_from_calcom',
        fromStatus: null,
        toStatus: status,
        actor: context.actor,
        data: { uid: observed.uid, fromUid: observed.fromUid, reason: observed.cancellationReason },
      });
      await writeOutboundEvents(
        tx,
        id,
        outboundTypesFor({ event: 'confirmed', to: status, actor: context.actor, flagsAttention: false }),
        { event: 'recorded_from_calcom', actor: context.actor },
      );
    });
  } catch (error) {
    if (isUniqueViolation(error)) return { concurrent: true };
    throw error;
  }
  await invalidateAvailability(deps, {
    staffId: chosen.staff.id,
    eventTypeIds: [observed.eventTypeId],
    spans: [{ start: observed.start, end: observed.end }],
  });
  return { outcome: 'applied', detail: `recorded a booking made in Cal.com as ${status}`, appointmentId: id };
}

/** Cal.com validated the attendee's phone already; stored in E.164 like ours where it parses. */
function e164OrRaw(phone: string | null): string | undefined {
  if (phone === null) return undefined;
  try {
    return normalizePhone(phone, 'attendee.phoneNumber', undefined);
  } catch {
    return phone;
  }
}

/**
 * Our own booking, made in Cal.com after its appointment was cancelled (the create's answer was
 * lost and the cancel looked too early): cancelled there too, whichever of the create's retry, a
 * webhook or reconciliation sees it first.
 */
/**
 * Our booking of an appointment recorded as failed, live in Cal.com all the same (a send whose answer
 * never came landed after every lookup). The caller was told it failed and may have booked another
 * time, so neither keeping nor cancelling it is ours to decide: its uid is recorded and the
 * appointment flagged for an operator, who sees the live booking holding the slot.
 */
async function flagBookedAfterFailure(
  deps: ApplyDeps,
  row: AppointmentRow,
  observed: ObservedBooking,
  context: ApplyContext,
): Promise<ApplyResult> {
  await deps.db.transaction(async (tx) => {
    await flagNeedsAttention(tx, {
      appointmentId: row.id,
      event: 'booked_after_failure',
      actor: context.actor,
      set: { calcomBookingUid: observed.uid, calcomBookingId: observed.bookingId ?? row.calcomBookingId },
    });
    await tx.insert(appointmentHistory).values({
      appointmentId: row.id,
      event: 'booked_after_failure',
      fromStatus: row.status,
      toStatus: row.status,
      actor: context.actor,
      data: { uid: observed.uid, status: observed.status },
    });
  });
  deps.logger.error(
    { appointmentId: row.id, uid: observed.uid },
    'a booking of an appointment recorded as failed is live in Cal.com: needs attention',
  );
  return { outcome: 'applied', detail: 'booked after it failed: flagged', appointmentId: row.id };
}

async function cancelBookedAfterCancel(
  deps: ApplyDeps,
  row: AppointmentRow,
  observed: ObservedBooking,
  context: ApplyContext,
): Promise<ApplyResult> {
  const [company] = await deps.db
    .select({ id: companies.id, calcomApiKeyEncrypted: companies.calcomApiKeyEncrypted })
    .from(companies)
    .where(eq(companies.id, row.companyId));
  if (company === undefined) return { outcome: 'unchanged', detail: 'company gone', appointmentId: row.id };
  await cancelLateBooking(
    deps,
    company,
    row,
    { uid: observed.uid, bookingId: observed.bookingId, eventTypeId: observed.eventTypeId },
    context.actor,
  );
  return {
    outcome: 'applied',
    detail: 'booked after the cancel: cancelled in Cal.com',
    appointmentId: row.id,
  };
}
