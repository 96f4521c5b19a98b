import { appointmentSegments, appointments } from '@calgate/db';
import { and, eq, inArray, lt } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';

/** Work younger than this is left alone: its job was enqueued moments ago. */
const GRACE_MS = 30_000;
const BATCH = 500;

/**
 * Re-enqueues work Postgres holds but Redis may have lost (an enqueue during a Redis outage, a
 * flushed queue): pending, cancelling and rescheduling appointments older than a grace period.
 * Job ids are deterministic, so work that still has its job is not duplicated.
 */
export async function sweepStuckAppointments(
  deps: Pick<DomainDeps, 'db' | 'queues' | 'logger'>,
): Promise<number> {
  const rows = await deps.db
    .select({
      id: appointments.id,
      status: appointments.status,
      composite: appointments.compositeGroupUid,
      requestId: appointments.rescheduleRequestId,
      rescheduleGeneration: appointments.rescheduleGeneration,
    })
    .from(appointments)
    .where(
      and(
        inArray(appointments.status, ['pending', 'cancelling', 'rescheduling']),
        lt(appointments.updatedAt, new Date(Date.now() - GRACE_MS)),
        eq(appointments.needsAttention, false),
      ),
    )
    .limit(BATCH);
  let enqueued = 0;
  // Only work whose job is missing or failed is touched; completed jobs mean a state write is on its way.
  for (const row of rows) {
    if (row.composite !== null) {
      if ((await sweepComposite(deps, row)) === 'present') continue;
    } else if (row.status === 'pending') {
      if ((await deps.queues.ensure('booking.create', { appointmentId: row.id })) === 'present') continue;
    } else if (row.status === 'cancelling') {
      if ((await deps.queues.ensure('booking.cancel', { appointmentId: row.id })) === 'present') continue;
    } else {
      const requestId = row.requestId;
      if (requestId === null) continue;
      if (
        (await deps.queues.ensure('booking.reschedule', { appointmentId: row.id, requestId })) === 'present'
      ) {
        continue;
      }
    }
    enqueued++;
  }
  if (enqueued > 0) deps.logger.info({ enqueued }, 'sweeper re-enqueued stuck appointments');
  return enqueued;
}

/**
 * A composite appointment's work is its cancel compensation (cancelling) or the flow of the
 * generation being booked: the first (pending) or a reschedule's new one (rescheduling). A flow
 * that failed without its failure being recorded: its finalize again when every segment is
 * booked, else its compensation.
 */
async function sweepComposite(
  deps: Pick<DomainDeps, 'db' | 'queues'>,
  row: { id: string; status: string; rescheduleGeneration: number | null },
): Promise<'added' | 'present'> {
  if (row.status === 'cancelling') {
    const done = await deps.queues.ensure('composite.compensate', {
      appointmentId: row.id,
      generation: 0,
      purpose: 'cancelled',
    });
    return done === 'present' ? 'present' : 'added';
  }
  const generation =
    row.status === 'pending' ? 0 : row.status === 'rescheduling' ? row.rescheduleGeneration : null;
  if (generation === null) return 'present';
  const finalize = await deps.queues.find('composite.finalize', { appointmentId: row.id, generation });
  if (finalize !== undefined && (await finalize.getState()) !== 'failed') return 'present';
  const segments = await deps.db
    .select({ status: appointmentSegments.status })
    .from(appointmentSegments)
    .where(
      and(eq(appointmentSegments.appointmentId, row.id), eq(appointmentSegments.generation, generation)),
    );
  if (finalize === undefined) {
    await deps.queues.addCompositeFlow(row.id, generation, segments.length);
    return 'added';
  }
  if (segments.length > 0 && segments.every((segment) => segment.status === 'booked')) {
    // Every segment is booked and only the finalize failed (PostgreSQL away through its
    // attempts): it runs again, and the booking is kept.
    await finalize.retry('failed');
    return 'added';
  }
  // The flow failed, yet nothing recorded it: the failing segment job's own failure handler
  // threw (PostgreSQL away at that moment) or never ran (BullMQ's stall limit). Its compensation
  // releases what the generation booked and records the failure, as that handler would have.
  const compensation = await deps.queues.ensure('composite.compensate', {
    appointmentId: row.id,
    generation,
    purpose: 'failed',
    // Why it failed went with the handler that could not run; the worker's log has it.
    code: 'INTERNAL',
  });
  return compensation === 'present' ? 'present' : 'added';
}
