import {
  type Database,
  type HistoryActor,
  type HistoryEvent,
  newId,
  type OutboundEventType,
} from '@calgate/db';
import { type SQL, sql } from 'drizzle-orm';
import type { AppointmentRow } from './views.ts';

type Status = AppointmentRow['status'];

/** What a change says about itself; enough to name the events it sends upstream. */
export interface ChangeFacts {
  /** The history event (`confirmed`, `rescheduled`, `times_changed`, ...). */
  event: HistoryEvent;
  to: Status;
  actor: HistoryActor;
  /** Whether the change raises the needs-attention flag. */
  flagsAttention: boolean;
}

const FROM_CALCOM: readonly HistoryActor[] = ['webhook', 'reconcile'];

/**
 * The upstream events of one appointment change. Steps on the way (`rescheduling`,
 * `cancelling`) and a failed reschedule (the appointment stays as it was) send nothing; a change
 * made in Cal.com that is not a confirmation or a cancellation is `appointment.updated`, and so is
 * our booking made a request for the host to confirm.
 */
export function outboundTypesFor(change: ChangeFacts): OutboundEventType[] {
  const types: OutboundEventType[] = [];
  if (change.to === 'failed') types.push('appointment.failed');
  else if (change.to === 'cancelled') types.push('appointment.cancelled');
  else if (change.to === 'confirmed' && change.event === 'confirmed') types.push('appointment.confirmed');
  else if (change.event === 'rescheduled' && !FROM_CALCOM.includes(change.actor)) {
    types.push('appointment.rescheduled');
  } else if (FROM_CALCOM.includes(change.actor) && change.to !== 'cancelling') {
    types.push('appointment.updated');
  } else if ((change.to === 'requested' || change.to === 'rejected') && change.actor === 'worker') {
    // Cal.com made our booking a request to the host (or it was declined before we heard of it).
    types.push('appointment.updated');
  }
  if (change.flagsAttention) types.push('appointment.needs_attention');
  return types;
}

function changedBy(actor: HistoryActor): string {
  if (FROM_CALCOM.includes(actor)) return 'calcom';
  return actor === 'operator' ? 'operator' : 'gateway';
}

const utc = (column: string) =>
  sql.raw(`to_char(m.${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/**
 * The columns a change's source row must carry for {@link outboxInsert}, as a `returning` list
 * of an `update appointments` (the previous status comes separately, as `from_status`).
 */
export const OUTBOX_SOURCE_COLUMNS = sql.raw(
  [
    'company_id',
    'status',
    'service_id',
    'staff_id',
    'customer_id',
    'starts_at',
    'ends_at',
    'timezone',
    'source',
    'calcom_booking_uid',
    'needs_attention',
    'failure_code',
    'metadata',
    'version',
  ]
    .map((c) => `appointments.${c}`)
    .join(', '),
);

/**
 * An `insert` of the outbox rows of a change, reading the changed appointment from the CTE named
 * `source` (its columns: `id`, `from_status` and {@link OUTBOX_SOURCE_COLUMNS}). Rows are only
 * written for companies with an endpoint that takes the type, so a company without endpoints
 * pays one index probe. The event's data is the appointment as the change left it, without the
 * customer's personal data.
 */
export function outboxInsert(
  source: string,
  types: OutboundEventType[],
  facts: Pick<ChangeFacts, 'event' | 'actor'>,
): SQL {
  const rows = sql.join(
    types.map((type) => sql`(${newId('evt')}, ${type})`),
    sql`, `,
  );
  return sql`
    insert into outbound_events (id, company_id, appointment_id, type, data)
    select t.id, m.company_id, m.id, t.type, jsonb_build_object(
      'id', m.id, 'status', m.status, 'previousStatus', m.from_status,
      'serviceId', m.service_id, 'staffId', m.staff_id, 'customerId', m.customer_id,
      'start', ${utc('starts_at')}, 'end', ${utc('ends_at')}, 'timeZone', m.timezone,
      'source', m.source, 'calcomBookingUid', m.calcom_booking_uid,
      'needsAttention', m.needs_attention, 'failureCode', m.failure_code,
      'metadata', m.metadata, 'version', m.version,
      'change', ${facts.event}::text, 'changedBy', ${changedBy(facts.actor)}::text)
    from ${sql.identifier(source)} m cross join (values ${rows}) as t(id, type)
    where exists (
      select 1 from outbound_endpoints e
      where e.company_id = m.company_id and (e.event_types = '{}' or t.type = any(e.event_types))
    )`;
}

/**
 * Writes the outbox rows of a change made by a plain insert (an appointment recorded from
 * Cal.com); called inside the change's transaction.
 */
export async function writeOutboundEvents(
  db: Pick<Database, 'execute'>,
  appointmentId: string,
  types: OutboundEventType[],
  facts: Pick<ChangeFacts, 'event' | 'actor'>,
): Promise<void> {
  if (types.length === 0) return;
  await db.execute(sql`
    with source as (
      select appointments.id, null::text as from_status, ${OUTBOX_SOURCE_COLUMNS}
      from appointments where appointments.id = ${appointmentId}
    )
    ${outboxInsert('source', types, facts)}`);
}
