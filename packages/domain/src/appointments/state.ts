/**
 * The state the booking flows keep on the appointment row (not read back out of its history): the
 * composite generation it stands on, the segments of a generation, and the pending reschedule.
 */
import { appointmentSegments, appointments, type Database } from '@calgate/db';
import { and, asc, eq } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';

export type SegmentRow = typeof appointmentSegments.$inferSelect;

/** The generation of a composite appointment that its last confirmation made current. */
export async function currentGeneration(
  deps: Pick<DomainDeps, 'db'>,
  appointmentId: string,
): Promise<number> {
  const [row] = await deps.db
    .select({ generation: appointments.currentGeneration })
    .from(appointments)
    .where(eq(appointments.id, appointmentId));
  return row?.generation ?? 0;
}

/** The segments of one generation, in order. */
export async function segmentsOf(
  deps: Pick<DomainDeps, 'db'>,
  appointmentId: string,
  generation: number,
): Promise<SegmentRow[]> {
  return deps.db
    .select()
    .from(appointmentSegments)
    .where(
      and(
        eq(appointmentSegments.appointmentId, appointmentId),
        eq(appointmentSegments.generation, generation),
      ),
    )
    .orderBy(asc(appointmentSegments.position));
}

/** True when the appointment is confirmed and this generation is the one it stands on. */
export async function alreadyConfirmed(
  deps: Pick<DomainDeps, 'db'>,
  payload: { appointmentId: string; generation: number },
): Promise<boolean> {
  const [row] = await deps.db
    .select({ status: appointments.status })
    .from(appointments)
    .where(eq(appointments.id, payload.appointmentId));
  return (
    row?.status === 'confirmed' &&
    (await currentGeneration(deps, payload.appointmentId)) === payload.generation
  );
}

/** The request id of the reschedule that planned this generation (none for generation 0). */
export async function requestIdOf(
  deps: Pick<DomainDeps, 'db'>,
  payload: { appointmentId: string; generation: number },
): Promise<string | undefined> {
  const [row] = await deps.db
    .select({ requestId: appointments.rescheduleRequestId })
    .from(appointments)
    .where(
      and(
        eq(appointments.id, payload.appointmentId),
        eq(appointments.rescheduleGeneration, payload.generation),
      ),
    );
  return row?.requestId ?? undefined;
}

/** The reschedule request an appointment in `rescheduling` is waiting on: its id and the start asked for. */
export async function pendingReschedule(
  db: Pick<Database, 'select'>,
  appointmentId: string,
): Promise<{ requestId: string; start: Date } | undefined> {
  const [row] = await db
    .select({ requestId: appointments.rescheduleRequestId, start: appointments.rescheduleStart })
    .from(appointments)
    .where(and(eq(appointments.id, appointmentId), eq(appointments.status, 'rescheduling')));
  if (row === undefined || row.requestId === null || row.start === null) return undefined;
  return { requestId: row.requestId, start: row.start };
}
