import { type Database, executePreparedOn, executePreparedText } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { type SQL, sql } from 'drizzle-orm';

/**
 * The gateway's own hold on a slot. Cal.com's reservation hides the slot from Cal.com's booking
 * pages and slots answers, but a Cal.com booking neither checks nor consumes reservations, so the
 * gateway keeps its callers off held time itself:
 *
 * - the hold is a Postgres row per held segment (staff member, time): durable, visible to every
 *   API and worker process, and released by a job (or the sweeper) if a process dies;
 * - a hold is written under an exclusive transaction-scoped advisory lock per staff member, after
 *   checking that no other hold and no pending booking of ours overlaps that staff member's time;
 * - a booking job checks for holds under the shared form of the same lock, after its appointment
 *   was committed and right before it sends to Cal.com.
 *
 * Either the booking's check runs after the hold committed (it sees the hold and gives up with
 * SLOT_HELD), or it ran before the hold took its lock, and then the hold sees the pending booking
 * and is refused. No lock is held across a Cal.com call. A Redis lock would be lost with Redis;
 * an exclusion constraint cannot span holds and appointments.
 *
 * A staff member is one person across companies that share a Cal.com account: staff rows with the
 * same Cal.com user id share their lock and their held time.
 */
export interface HeldWindow {
  staffIds: readonly string[];
  start: Date;
  end: Date;
}

type Executor = Pick<Database, 'execute'>;

/** The lock key of each staff member: the Cal.com user when known (one person), else the row. */
async function lockKeys(tx: Executor, staffIds: readonly string[]): Promise<string[]> {
  if (staffIds.length === 0) return [];
  const rows = await tx.execute<{ id: string; calcom_user_id: number | null }>(
    sql`select id, calcom_user_id from staff where id in ${idList(staffIds)}`,
  );
  const keys = rows.map((r) =>
    r.calcom_user_id === null ? `staff:${r.id}` : `calcom-user:${r.calcom_user_id}`,
  );
  return [...new Set(keys)].sort();
}

/** Takes the per-person advisory locks in a stable order (no deadlock between two holds). */
export async function lockStaff(tx: Executor, staffIds: Iterable<string>, mode: 'exclusive' | 'shared') {
  const fn = sql.raw(mode === 'exclusive' ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared');
  for (const key of await lockKeys(tx, [...new Set(staffIds)])) {
    await tx.execute(sql`select ${fn}(hashtextextended(${`calgate-hold:${key}`}, 0))`);
  }
}

const idList = (ids: readonly string[]) =>
  sql`(${sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  )})`;

/** Staff rows that are the same person as `staffId` (the same Cal.com user), itself included. */
export const samePerson = (staffId: string) => sql`(
  select other.id from staff me join staff other
    on other.id = me.id or (me.calcom_user_id is not null and other.calcom_user_id = me.calcom_user_id)
  where me.id = ${staffId})`;

/**
 * Staff members of `window` whose time (as a person) overlaps a hold of someone else: an active hold not yet
 * expired, or a consumed one whose booking is still pending (it guards its slot until Cal.com
 * answered). `exceptAppointmentId` is the booking that consumed a hold itself.
 */
export async function heldStaff(
  db: Executor,
  window: HeldWindow,
  exceptAppointmentId?: string,
  now: Date = new Date(),
): Promise<Set<string>> {
  if (window.staffIds.length === 0) return new Set();
  const rows = await executePreparedOn<{ staff_id: string }>(
    db,
    heldStaffQuery(window, exceptAppointmentId, now),
  );
  return new Set(rows.map((row) => row.staff_id));
}

/** The query of {@link heldStaff} (a column `staff_id`), to run alone or as a CTE of a larger statement. */
export function heldStaffQuery(
  window: HeldWindow,
  exceptAppointmentId?: string,
  now: Date = new Date(),
): SQL {
  // Times come from this process, not Postgres' now(): the two clocks may differ (tests fake ours).
  // Driven from the people (a few staff rows) to their segments ending after `start` (an index
  // range: holds are for future times), then to those holds by key; so the cost stays flat however
  // many old holds there are. The CTEs are materialized to keep the planner on that path.
  return sql`
    with people as materialized (
      select me.id as asked, other.id as staff_id
      from staff me
      join staff other
        on other.id = me.id or (me.calcom_user_id is not null and other.calcom_user_id = me.calcom_user_id)
      where me.id in ${idList(window.staffIds)}
    ), segments as materialized (
      select p.asked, hs.hold_id
      from people p
      join hold_segments hs
        on hs.staff_id = p.staff_id
        and hs.ends_at > ${window.start.toISOString()}::timestamptz
        and hs.starts_at < ${window.end.toISOString()}::timestamptz
    )
    select distinct s.asked as staff_id
    from segments s
    join holds h on h.id = s.hold_id
    left join appointments a on a.id = h.appointment_id
    where (h.status = 'active' and h.expires_at > ${now.toISOString()}::timestamptz)
      or (h.status = 'consumed' and a.status = 'pending'
          and a.id is distinct from ${exceptAppointmentId ?? null})`;
}

/** The answer to a caller whose slot someone else holds. */
export function slotHeldError(field = 'start'): AppError {
  return new AppError('SLOT_HELD', 'The slot is held by another caller; try again after the hold ends', {
    details: { field },
  });
}

/**
 * For a booking job about to send: throws SLOT_HELD when `staffId`'s time is held by someone else,
 * checked under the shared advisory lock (see above). With `markSent`, the appointment's
 * at-most-once marker (`booking_sent_at`) is recorded in the same transaction when nothing is held.
 *
 * One round trip and one prepared statement: the lock, the check and the marker are the database
 * function `calgate_booking_hold_check` (migration 0011). Its statements each take their own
 * snapshot, so the check sees every hold committed before the lock was granted, exactly as the
 * lock and the check of a BEGIN ... COMMIT block would; its plans are made once per connection
 * (planning the check cost PostgreSQL more than running it).
 */
export async function assertNotHeldForBooking(
  db: Database,
  input: { staffId: string; start: Date; end: Date; appointmentId: string; markSent?: boolean },
): Promise<void> {
  const [answer] = await executePreparedText<{ held: boolean }>(
    db.$client,
    `select held from ${BOOKING_HOLD_CHECK}($1, $2, $3::timestamptz, $4::timestamptz, $5::timestamptz, $6)`,
    [
      input.appointmentId,
      input.staffId,
      input.start.toISOString(),
      input.end.toISOString(),
      new Date().toISOString(),
      input.markSent === true,
    ],
  );
  if (answer?.held === true) throw slotHeldError();
}

/**
 * The database function of a booking's hold check (migration 0011): arguments (appointment id,
 * staff id, start, end, now, whether to record the marker), columns `held` and `marked`.
 */
export const BOOKING_HOLD_CHECK = 'calgate_booking_hold_check';
