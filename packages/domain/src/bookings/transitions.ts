import { appointmentHistory, appointments, type Database } from '@calgate/db';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { AppointmentRow } from './appointments.ts';

type Status = AppointmentRow['status'];
type Actor = (typeof appointmentHistory.$inferInsert)['actor'];

export interface Transition {
  appointmentId: string;
  /** Only applied while the appointment is in one of these states (optimistic concurrency). */
  from: Status[];
  to: Status;
  event: string;
  actor: Actor;
  set?: Partial<typeof appointments.$inferInsert>;
  data?: Record<string, unknown>;
}

/**
 * Changes an appointment's state and writes its history row in one transaction. Returns false,
 * writing nothing, when the appointment was no longer in an expected state.
 */
export async function transition(db: Database, change: Transition): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select({ status: appointments.status })
      .from(appointments)
      .where(eq(appointments.id, change.appointmentId))
      .for('update');
    if (before === undefined || !change.from.includes(before.status)) return false;
    await tx
      .update(appointments)
      .set({
        ...change.set,
        status: change.to,
        updatedAt: new Date(),
        version: sql`${appointments.version} + 1`,
      })
      .where(and(eq(appointments.id, change.appointmentId), inArray(appointments.status, change.from)));
    await tx.insert(appointmentHistory).values({
      appointmentId: change.appointmentId,
      event: change.event,
      fromStatus: before.status,
      toStatus: change.to,
      actor: change.actor,
      data: change.data ?? {},
    });
    return true;
  });
}
