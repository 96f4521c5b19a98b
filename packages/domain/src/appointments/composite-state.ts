import { appointmentHistory, appointmentSegments, appointments } from '@calgate/db';
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';

export type SegmentRow = typeof appointmentSegments.$inferSelect;

/** The generation of a composite appointment that its last confirmation made current. */
export async function currentGeneration(
  deps: Pick<DomainDeps, 'db'>,
  appointmentId: string,
): Promise<number> {
  const [latest] = await deps.db
    .select({ data: appointmentHistory.data })
    .from(appointmentHistory)
    .where(
      and(
        eq(appointmentHistory.appointmentId, appointmentId),
        inArray(appointmentHistory.event, ['confirmed', 'rescheduled']),
      ),
    )
    .orderBy(desc(appointmentHistory.createdAt), desc(appointmentHistory.id))
    .limit(1);
  const generation = (latest?.data as { generation?: unknown } | undefined)?.generation;
  return typeof generation === 'number' ? generation : 0;
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
) {
  const rows = await deps.db
    .select({ data: appointmentHistory.data })
    .from(appointmentHistory)
    .where(
      and(
        eq(appointmentHistory.appointmentId, payload.appointmentId),
        eq(appointmentHistory.event, 'reschedule_requested'),
      ),
    );
  const match = rows
    .map((r) => r.data as { requestId?: string; generation?: number })
    .find((d) => d.generation === payload.generation);
  return match?.requestId;
}
