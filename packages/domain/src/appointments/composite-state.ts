import { appointmentHistory } from '@calgate/db';
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';

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
