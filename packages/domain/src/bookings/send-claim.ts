import { appointments, companies, customers, type Database, executePreparedText } from '@calgate/db';
import { columnsOf, mapRow, selectList } from '../appointments/row-mapping.ts';
import type { WorkContext } from '../appointments/work-context.ts';
import { BOOKING_HOLD_CHECK } from '../holds/guard.ts';

/**
 * What the first round trip of a simple booking job found about its named staff member's time:
 * `marked` (nothing held; the at-most-once marker is now recorded), `held` (someone else holds
 * it: SLOT_HELD), or `unchecked` (the appointment names no staff member: the job checks the one it
 * picks).
 */
export type SendClaim = 'marked' | 'held' | 'unchecked';

export interface WorkForSend {
  work: WorkContext;
  claim: SendClaim;
  /** Whether an earlier run recorded the marker (read before this run recorded it again). */
  markedBefore: boolean;
}

/**
 * A simple booking job's context, its named staff member's hold check and its at-most-once marker,
 * in one round trip and one prepared statement: the row joined laterally to the hold check
 * (`calgate_booking_hold_check`, see `assertNotHeldForBooking`). The context is read with the
 * statement's snapshot, the check takes its own after the lock was granted and records the marker
 * when nothing is held: the same guarantees as the context read followed by
 * `assertNotHeldForBooking(..., { markSent: true })`, which took two.
 *
 * The check may run before a Cal.com lookup the job makes first (a run after an earlier send):
 * still safe, because a hold created after it sees this pending appointment of that staff member
 * and is refused (`createHold`).
 */
export async function loadWorkForSend(db: Database, appointmentId: string): Promise<WorkForSend | undefined> {
  const [row] = await executePreparedText<Record<string, unknown>>(db.$client, LOAD_FOR_SEND, [
    appointmentId,
    new Date().toISOString(),
  ]);
  if (row === undefined) return undefined;
  const work: WorkContext = {
    appointment: mapRow(row, 'a', APPOINTMENT_COLUMNS) as WorkContext['appointment'],
    company: mapRow(row, 'c', COMPANY_COLUMNS) as WorkContext['company'],
    customer: mapRow(row, 'u', CUSTOMER_COLUMNS) as WorkContext['customer'],
  };
  return {
    work,
    claim: row['k.held'] === true ? 'held' : row['k.marked'] === true ? 'marked' : 'unchecked',
    markedBefore: work.appointment.bookingSentAt !== null,
  };
}

const APPOINTMENT_COLUMNS = columnsOf(appointments);
const COMPANY_COLUMNS = columnsOf(companies);
const CUSTOMER_COLUMNS = columnsOf(customers);

/** The statement's text, built once ($1 the appointment, $2 this process's clock for the check). */
const LOAD_FOR_SEND = `select ${[
  ...selectList('a', APPOINTMENT_COLUMNS),
  ...selectList('c', COMPANY_COLUMNS),
  ...selectList('u', CUSTOMER_COLUMNS),
].join(', ')}, k.held as "k.held", k.marked as "k.marked"
  from appointments a
  join companies c on c.id = a.company_id
  join customers u on u.id = a.customer_id
  cross join lateral ${BOOKING_HOLD_CHECK}(a.id, a.staff_id, a.starts_at, a.ends_at, $2::timestamptz, true) k
  where a.id = $1`;
