import { appointments, type Database, type HistoryActor } from '@calgate/db';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { AppointmentRow } from './appointments.ts';

type Status = AppointmentRow['status'];

export interface Transition {
  appointmentId: string;
  /** Only applied while the appointment is in one of these states (optimistic concurrency). */
  from: Status[];
  to: Status;
  event: string;
  actor: HistoryActor;
  set?: Partial<typeof appointments.$inferInsert>;
  data?: Record<string, unknown>;
}

/**
 * Changes an appointment's state and writes its history row, atomically, in one statement (one
 * round trip: the intake and the workers make thousands of these). Returns false, writing
 * nothing, when the appointment was no longer in an expected state.
 *
 * The row is locked first (`FOR UPDATE`); a concurrent change makes PostgreSQL re-check the
 * expected states against the committed row, so two transitions never both apply.
 */
export async function transition(
  db: Pick<Database, 'execute' | 'select' | 'update'>,
  change: Transition,
): Promise<boolean> {
  const locked = db
    .select({ id: appointments.id, status: appointments.status })
    .from(appointments)
    .where(and(eq(appointments.id, change.appointmentId), inArray(appointments.status, change.from)))
    .for('update')
    .as('locked');
  const moved = db
    .update(appointments)
    .set({
      ...change.set,
      status: change.to,
      updatedAt: new Date(),
      version: sql`${appointments.version} + 1`,
    })
    .from(locked)
    .where(eq(appointments.id, locked.id))
    .returning({ id: appointments.id, fromStatus: locked.status });
  const rows = await db.execute(sql`
    with moved (id, from_status) as (${moved.getSQL()})
    insert into appointment_history (appointment_id, event, from_status, to_status, actor, data)
    select id, ${change.event}, from_status, ${change.to}, ${change.actor}, ${JSON.stringify(change.data ?? {})}::jsonb
    from moved
    returning from_status`);
  return rows.length > 0;
}
