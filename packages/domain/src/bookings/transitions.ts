import { appointments, type Database, type HistoryActor } from '@calgate/db';
import { eq, getTableColumns, inArray, sql } from 'drizzle-orm';
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
export async function transition(db: Pick<Database, 'execute'>, change: Transition): Promise<boolean> {
  // Written as one SQL text rather than through the query builders: every booking job makes
  // a few of these, and building them took 6-8% of the worker's CPU.
  const assignments = [
    sql`status = ${change.to}`,
    sql`updated_at = ${sql.param(new Date(), COLUMNS.updatedAt)}`,
    sql`version = appointments.version + 1`,
  ];
  for (const [key, value] of Object.entries(change.set ?? {})) {
    if (value === undefined || key === 'status' || key === 'updatedAt' || key === 'version') continue;
    const column = COLUMNS[key as keyof typeof COLUMNS];
    assignments.push(
      sql`${sql.identifier(column.name)} = ${value === null ? sql`null` : sql.param(value, column)}`,
    );
  }
  const rows = await db.execute(sql`
    with locked as (
      select id, status from appointments
      where ${eq(appointments.id, change.appointmentId)} and ${inArray(appointments.status, change.from)}
      for update
    ), moved as (
      update appointments set ${sql.join(assignments, sql`, `)}
      from locked
      where appointments.id = locked.id
      returning appointments.id, locked.status as from_status
    )
    insert into appointment_history (appointment_id, event, from_status, to_status, actor, data)
    select id, ${change.event}, from_status, ${change.to}, ${change.actor}, ${JSON.stringify(change.data ?? {})}::jsonb
    from moved
    returning from_status`);
  return rows.length > 0;
}

const COLUMNS = getTableColumns(appointments);
