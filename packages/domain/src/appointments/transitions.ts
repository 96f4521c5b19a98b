import {
  appointments,
  type Database,
  executePreparedOn,
  type HistoryActor,
  type HistoryEvent,
} from '@calgate/db';
import { eq, getTableColumns, inArray, type SQL, sql } from 'drizzle-orm';
import { OUTBOX_SOURCE_COLUMNS, outboundTypesFor, outboxInsert } from './outbound-events.ts';
import type { AppointmentRow } from './views.ts';

type Status = AppointmentRow['status'];

export interface Transition {
  appointmentId: string;
  /** Only applied while the appointment is in one of these states (optimistic concurrency). */
  from: Status[];
  to: Status;
  event: HistoryEvent;
  actor: HistoryActor;
  set?: Partial<typeof appointments.$inferInsert>;
  data?: Record<string, unknown>;
}

/**
 * Changes an appointment's state and writes its history row and its upstream events (the outbox
 * of outbound webhooks), atomically, in one statement (one round trip: the intake and the
 * workers make thousands of these). Returns false, writing nothing, when the appointment was no
 * longer in an expected state.
 *
 * The row is locked first (`FOR UPDATE`); a concurrent change makes PostgreSQL re-check the
 * expected states against the committed row, so two transitions never both apply.
 */
export async function transition(db: Pick<Database, 'execute'>, change: Transition): Promise<boolean> {
  // Written as one SQL text rather than through the query builders: every booking job makes
  // a few of these, and building them took 6-8% of the worker's CPU. Prepared: planning the
  // statement cost PostgreSQL more than running it.
  const assignments = [sql`status = ${change.to}`, ...assignmentsOf(change.set)];
  const facts = {
    event: change.event,
    to: change.to,
    actor: change.actor,
    flagsAttention: change.set?.needsAttention === true,
  };
  const types = outboundTypesFor(facts);
  // A change that sends nothing upstream keeps the statement it always had.
  const outbox = types.length === 0 ? sql`` : sql`, outbox as (${outboxInsert('moved', types, facts)})`;
  const rows = await executePreparedOn(
    db,
    sql`
    with locked as (
      select id, status from appointments
      where ${eq(appointments.id, change.appointmentId)} and ${inArray(appointments.status, change.from)}
      for update
    ), moved as (
      update appointments set ${sql.join(assignments, sql`, `)}
      from locked
      where appointments.id = locked.id
      returning appointments.id, locked.status as from_status${types.length === 0 ? sql`` : sql`, ${OUTBOX_SOURCE_COLUMNS}`}
    )${outbox}
    insert into appointment_history (appointment_id, event, from_status, to_status, actor, data)
    select id, ${change.event}, from_status, ${change.to}, ${change.actor}, ${JSON.stringify(change.data ?? {})}::jsonb
    from moved
    returning from_status`,
  );
  return rows.length > 0;
}

/** `updated_at`, `version` and the given columns, as `set` assignments of an `update appointments`. */
function assignmentsOf(set: Transition['set']): SQL[] {
  const assignments = [
    sql`updated_at = ${sql.param(new Date(), COLUMNS.updatedAt)}`,
    sql`version = appointments.version + 1`,
  ];
  for (const [key, value] of Object.entries(set ?? {})) {
    if (value === undefined || key === 'status' || key === 'updatedAt' || key === 'version') continue;
    const column = COLUMNS[key as keyof typeof COLUMNS];
    assignments.push(
      sql`${sql.identifier(column.name)} = ${value === null ? sql`null` : sql.param(value, column)}`,
    );
  }
  return assignments;
}

/**
 * Raises an appointment's needs-attention flag (with any other columns in `set`) and, when it
 * was not raised before, writes its `appointment.needs_attention` event, in one statement.
 */
export async function flagNeedsAttention(
  db: Pick<Database, 'execute'>,
  flag: { appointmentId: string; event: HistoryEvent; actor: HistoryActor; set?: Transition['set'] },
): Promise<void> {
  await db.execute(sql`
    with before as (
      select id, needs_attention from appointments where ${eq(appointments.id, flag.appointmentId)}
      for update
    ), moved as (
      update appointments set ${sql.join([sql`needs_attention = true`, ...assignmentsOf(flag.set)], sql`, `)}
      from before
      where appointments.id = before.id
      returning appointments.id, appointments.status as from_status, before.needs_attention as was_flagged,
        ${OUTBOX_SOURCE_COLUMNS}
    ), newly as (
      select * from moved where not was_flagged
    )
    ${outboxInsert('newly', ['appointment.needs_attention'], flag)}`);
}

const COLUMNS = getTableColumns(appointments);
