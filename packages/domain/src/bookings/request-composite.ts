import { appointmentHistory, appointmentSegments, appointments, newId } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { errorLogFields } from '@calgate/jobs';
import { desc, eq } from 'drizzle-orm';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import { upsertCustomer } from '../appointments/customers/upsert.ts';
import { latestHistoryData } from '../appointments/history.ts';
import { planComposite } from '../availability/composite-availability.ts';
import type { CompositeSlot } from '../availability/composite-slots.ts';
import type { DomainDeps } from '../deps.ts';
import { assertNotHeld, consumeHold, type HeldSlot } from '../holds/consume.ts';
import type { ServiceDefinition } from '../services/catalog.ts';
import {
  type BookingAccepted,
  type BookingRequest,
  type IdempotencyContext,
  insertIdempotencyKey,
  intakeWriteError,
} from './intake-shared.ts';

type Deps = Pick<DomainDeps, 'db' | 'queues' | 'logger' | 'slotCache' | 'calcom'>;

/**
 * Records a composite appointment with its planned segments (generation 0), history and
 * idempotency key in one transaction, then adds its booking flow.
 */
export async function requestCompositeBooking(
  deps: Deps,
  company: CompanyKeySource,
  service: ServiceDefinition,
  request: BookingRequest,
  start: Date,
  idempotency: IdempotencyContext | undefined,
  held?: HeldSlot,
): Promise<BookingAccepted> {
  // A hold books its own plan: the slot is hidden from availability (by Cal.com's reservation).
  const plan =
    held?.plan ?? (await planComposite(deps, company, service, start, request.timeZone, request.staffId));
  if (held === undefined) {
    await assertNotHeld(
      deps.db,
      plan.segments.map((s) => ({ staffIds: [s.staffId], start: new Date(s.start), end: new Date(s.end) })),
    );
  }
  const appointmentId = newId('apt');
  const staffIds = new Set(plan.segments.map((s) => s.staffId));
  try {
    await deps.db.transaction(async (tx) => {
      const customerId = await upsertCustomer(tx, company.id, request.customer);
      await tx.insert(appointments).values({
        id: appointmentId,
        companyId: company.id,
        serviceId: service.id,
        customerId,
        staffId: staffIds.size === 1 ? ([...staffIds][0] as string) : null,
        status: 'pending',
        startsAt: new Date(plan.start),
        endsAt: new Date(plan.end),
        timezone: request.timeZone,
        compositeGroupUid: newId('cgp'),
        idempotencyKey: idempotency?.key ?? null,
        source: 'api',
        notes: request.notes ?? null,
        metadata: request.metadata ?? {},
      });
      await tx.insert(appointmentSegments).values(
        plan.segments.map((part) => {
          const segment = service.segments[part.position];
          const option = segment?.options.find((o) => o.staffId === part.staffId);
          if (segment === undefined || option === undefined)
            throw new Error('plan does not match the service');
          return {
            id: newId('aps'),
            appointmentId,
            serviceSegmentId: segment.id,
            position: part.position,
            generation: 0,
            staffId: part.staffId,
            calcomEventTypeId: option.eventTypeId,
            startsAt: new Date(part.start),
            endsAt: new Date(part.end),
          };
        }),
      );
      await tx.insert(appointmentHistory).values({
        appointmentId,
        event: 'created',
        toStatus: 'pending',
        actor: 'api',
        data: {
          start: start.toISOString(),
          segments: plan.segments.length,
          staffId: request.staffId ?? null,
        },
      });
      await insertIdempotencyKey(tx, company.id, idempotency, appointmentId);
      if (held !== undefined) await consumeHold(tx, held.holdId, appointmentId);
    });
  } catch (error) {
    throw intakeWriteError(deps, company.id, idempotency, appointmentId, error);
  }
  try {
    await deps.queues.addCompositeFlow(appointmentId, 0, plan.segments.length, { fairGroup: company.id });
  } catch (error) {
    deps.logger.warn(
      { ...errorLogFields(error).fields, appointmentId },
      'flow enqueue failed; the sweeper will add it',
    );
  }
  return { appointmentId, replayed: false };
}

/**
 * Reschedules a composite appointment without ever risking the original: the new segments are
 * planned and booked as a new generation first; only when all of them are booked is the old
 * generation released (`composite.finalize` then `composite.compensate` with purpose `replaced`).
 */
export async function requestCompositeReschedule(
  deps: Deps,
  company: CompanyKeySource,
  service: ServiceDefinition,
  appointment: { id: string; startsAt: Date; endsAt: Date },
  start: Date,
  request: { timeZone: string; reason?: string | undefined },
): Promise<{ kind: 'accepted'; requestId: string }> {
  const appointmentId = appointment.id;
  let plan: CompositeSlot;
  try {
    // A customer who asked for a stylist keeps them at the new time (a time without them is
    // refused); one who took anyone may be moved to anyone.
    const named = (await latestHistoryData(deps.db, appointmentId, 'created'))?.staffId ?? undefined;
    plan = await planComposite(deps, company, service, start, request.timeZone, named);
  } catch (error) {
    if (error instanceof AppError && error.code === 'SLOT_UNAVAILABLE') {
      // The new segments are booked before the old ones are released, so a new time that
      // overlaps the appointment itself finds its own stylist busy: said so, not "taken".
      const length = appointment.endsAt.getTime() - appointment.startsAt.getTime();
      const overlapsItself =
        start.getTime() < appointment.endsAt.getTime() &&
        start.getTime() + length > appointment.startsAt.getTime();
      throw new AppError(
        'SLOT_UNAVAILABLE',
        overlapsItself
          ? 'The new time overlaps this appointment itself: a composite appointment is moved by booking ' +
              'the new time before releasing the old one. Choose a time that does not overlap it, or ' +
              'cancel it and book again'
          : error.message,
        {
          details: { ...error.details, unchanged: true, ...(overlapsItself ? { overlapsItself: true } : {}) },
        },
      );
    }
    throw error;
  }
  const requestId = newId('rsq');
  const [latest] = await deps.db
    .select({ generation: appointmentSegments.generation })
    .from(appointmentSegments)
    .where(eq(appointmentSegments.appointmentId, appointmentId))
    .orderBy(desc(appointmentSegments.generation))
    .limit(1);
  const generation = (latest?.generation ?? 0) + 1;
  const moved = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .select({ status: appointments.status })
      .from(appointments)
      .where(eq(appointments.id, appointmentId))
      .for('update');
    if (row?.status !== 'confirmed') return false;
    await tx
      .update(appointments)
      .set({
        status: 'rescheduling',
        rescheduleRequestId: requestId,
        rescheduleStart: start,
        rescheduleGeneration: generation,
        updatedAt: new Date(),
      })
      .where(eq(appointments.id, appointmentId));
    await tx.insert(appointmentHistory).values({
      appointmentId,
      event: 'reschedule_requested',
      fromStatus: 'confirmed',
      toStatus: 'rescheduling',
      actor: 'api',
      data: {
        requestId,
        generation,
        start: start.toISOString(),
        timeZone: request.timeZone,
        reason: request.reason,
      },
    });
    await tx.insert(appointmentSegments).values(segmentRows(service, plan, appointmentId, generation));
    return true;
  });
  if (!moved) {
    throw new AppError('INVALID_STATE', 'The booking changed meanwhile; read it and try again', {
      details: { status: 'changed' },
    });
  }
  try {
    await deps.queues.addCompositeFlow(appointmentId, generation, plan.segments.length, {
      fairGroup: company.id,
    });
  } catch (error) {
    deps.logger.warn(
      { ...errorLogFields(error).fields, appointmentId },
      'flow enqueue failed; the sweeper will add it',
    );
  }
  return { kind: 'accepted', requestId };
}

/** The segment rows of a plan, for one generation. */
function segmentRows(
  service: ServiceDefinition,
  plan: CompositeSlot,
  appointmentId: string,
  generation: number,
) {
  return plan.segments.map((part) => {
    const segment = service.segments[part.position];
    const option = segment?.options.find((o) => o.staffId === part.staffId);
    if (segment === undefined || option === undefined) throw new Error('plan does not match the service');
    return {
      id: newId('aps'),
      appointmentId,
      serviceSegmentId: segment.id,
      position: part.position,
      generation,
      staffId: part.staffId,
      calcomEventTypeId: option.eventTypeId,
      startsAt: new Date(part.start),
      endsAt: new Date(part.end),
    };
  });
}
