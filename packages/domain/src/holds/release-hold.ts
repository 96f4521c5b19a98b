import { storedTextId } from '@calgate/calendar';
import { appointments, companies, type Database, holdSegments, holds } from '@calgate/db';
import { AppError } from '@calgate/errors';
import type { JobContext } from '@calgate/jobs';
import { and, asc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import { invalidateAvailability } from '../appointments/invalidate.ts';
import type { DomainDeps } from '../deps.ts';
import { getHoldView, type HoldView, loadHold } from './views.ts';

type Deps = Pick<DomainDeps, 'db' | 'queues' | 'logger' | 'slotCache' | 'calcom'>;

/**
 * Deletes the hold's Cal.com reservations that are still there, recording each at once (a retry
 * skips them), and forgets the cached availability they hid. Returns how many were deleted.
 */
export async function releaseReservations(
  deps: Deps,
  company: CompanyKeySource,
  holdId: string,
  signal?: AbortSignal,
): Promise<number> {
  const open = await deps.db
    .select()
    .from(holdSegments)
    .where(
      and(
        eq(holdSegments.holdId, holdId),
        isNotNull(holdSegments.reservationUid),
        isNull(holdSegments.reservationReleasedAt),
      ),
    )
    .orderBy(asc(holdSegments.position));
  if (open.length === 0) return 0;
  const { client } = deps.calcom.forCompany(company);
  for (const segment of open) {
    // Cal.com answers success for a reservation already gone, so a repeat is harmless.
    await client.deleteReservation(storedTextId(segment.reservationUid as string), { signal });
    await deps.db
      .update(holdSegments)
      .set({ reservationReleasedAt: new Date(), updatedAt: new Date() })
      .where(eq(holdSegments.id, segment.id));
  }
  for (const segment of open) {
    await invalidateAvailability(deps, {
      staffId: segment.staffId,
      eventTypeIds: [segment.calcomEventTypeId],
      spans: [{ start: segment.startsAt, end: segment.endsAt }],
    });
  }
  return open.length;
}

/** States of a booking that will never need its hold's slot again (it cannot be cancelled either). */
const ENDED_BOOKING = ['failed', 'cancelled', 'rejected'] as const;

/**
 * DELETE /api/v2/holds/:id: the slot is free for our callers at once; the Cal.com reservations
 * are deleted before the answer, or by the `hold.release` job when Cal.com is not answering.
 * Releasing a released or expired hold again changes nothing; nor does releasing one whose booking
 * failed, was cancelled or rejected, except that reservations still left are deleted (it stays
 * `consumed`: a booking used it).
 * @throws AppError HOLD_NOT_FOUND, INVALID_STATE (a booking that still stands, or is on its way, used it)
 */
export async function releaseHold(deps: Deps, company: CompanyKeySource, holdId: string): Promise<HoldView> {
  const { hold } = await loadHold(deps.db, company.id, holdId);
  if (hold.status === 'consumed' && !(await bookingEnded(deps.db, hold.appointmentId))) {
    throw new AppError(
      'INVALID_STATE',
      `hold ${hold.id} was used by booking ${hold.appointmentId ?? ''}; cancel the booking instead`,
      { details: { appointmentId: hold.appointmentId } },
    );
  }
  if (hold.status === 'active') {
    const now = new Date();
    await deps.db
      .update(holds)
      .set({ status: 'released', releasedAt: now, updatedAt: now })
      .where(and(eq(holds.id, hold.id), eq(holds.status, 'active')));
  }
  try {
    await releaseReservations(deps, company, hold.id);
  } catch (error) {
    deps.logger.warn({ err: error, holdId: hold.id }, 'reservations not deleted now; the release job will');
    await deps.queues.enqueue('hold.release', { holdId: hold.id, reason: 'released' }).catch(() => undefined);
  }
  return getHoldView(deps.db, company.id, hold.id);
}

async function bookingEnded(db: Database, appointmentId: string | null): Promise<boolean> {
  if (appointmentId === null) return false;
  const [row] = await db
    .select({ status: appointments.status })
    .from(appointments)
    .where(eq(appointments.id, appointmentId));
  return row !== undefined && (ENDED_BOOKING as readonly string[]).includes(row.status);
}

/**
 * For a booking job done with an appointment that consumed a hold (it is no longer pending): the
 * hold's Cal.com reservations only hide the slot from now on (a cancelled or failed booking's time
 * stays hidden until the expiry), so the `hold.release` job deletes them. A failed enqueue is
 * logged: the expiry job deletes them later.
 */
export async function releaseUsedHold(
  deps: Pick<DomainDeps, 'queues' | 'logger'>,
  holdId: string,
): Promise<void> {
  try {
    await deps.queues.enqueue('hold.release', { holdId, reason: 'used' });
  } catch (error) {
    deps.logger.warn({ err: error, holdId }, 'used hold release enqueue failed; its expiry releases it');
  }
}

/**
 * For a composite appointment that left `pending` (confirmed, failed, cancelled): releases the
 * reservations of the hold it consumed, if any, like {@link releaseUsedHold}. The hold's segments
 * are the appointment's first generation (same staff member, same start), so it is found through
 * the staff index of hold segments.
 */
export async function releaseHoldOf(
  deps: Pick<DomainDeps, 'db' | 'queues' | 'logger'>,
  appointmentId: string,
): Promise<void> {
  const rows = await deps.db.execute<{ id: string }>(sql`
    select h.id from appointment_segments g
    join hold_segments hs on hs.staff_id = g.staff_id and hs.ends_at > g.starts_at and hs.starts_at = g.starts_at
    join holds h on h.id = hs.hold_id and h.appointment_id = g.appointment_id
    where g.appointment_id = ${appointmentId} and g.generation = 0
    limit 1`);
  const holdId = rows[0]?.id;
  if (holdId !== undefined) await releaseUsedHold(deps, holdId);
}

/**
 * `hold.release`: at the expiry an active hold becomes `expired` (a consumed one stays consumed:
 * its booking goes on), then the hold's reservations are deleted in Cal.com. `used`: only once the
 * booking that consumed the hold is no longer pending (until then the hold guards its slot).
 */
export async function processReleaseHold(
  deps: Deps,
  payload: { holdId: string; reason: 'expired' | 'released' | 'used' },
  context: JobContext,
): Promise<string> {
  const [row] = await deps.db
    .select({ hold: holds, company: companies, booking: appointments.status })
    .from(holds)
    .innerJoin(companies, eq(companies.id, holds.companyId))
    .leftJoin(appointments, eq(appointments.id, holds.appointmentId))
    .where(eq(holds.id, payload.holdId));
  if (row === undefined) return 'hold-missing';
  const { hold, company } = row;
  if (payload.reason === 'used' && (hold.status !== 'consumed' || row.booking === 'pending')) {
    return 'used-booking-not-done';
  }
  if (payload.reason === 'expired' && hold.status === 'active') {
    if (hold.expiresAt.getTime() > Date.now()) {
      // Early (a clock step, a manual retry): back off and look again rather than complete
      // without the work (the sweeper leaves completed jobs alone).
      throw new AppError('INVALID_STATE', 'the hold has not expired yet', { retry: true });
    }
    await deps.db
      .update(holds)
      .set({ status: 'expired', releasedAt: new Date(), updatedAt: new Date() })
      .where(and(eq(holds.id, hold.id), eq(holds.status, 'active')));
  }
  const deleted = await releaseReservations(deps, company, hold.id, context.signal);
  return `${payload.reason}-${deleted}-reservations-deleted`;
}

/**
 * For the sweeper: holds past their expiry that still have a live reservation or are still marked
 * active (their delayed job was lost with Redis) get their `hold.release` job again.
 */
export async function sweepExpiredHolds(deps: Pick<DomainDeps, 'db' | 'queues'>): Promise<number> {
  // Both halves read a partial index of the few rows that matter, not the history of holds.
  const now = new Date().toISOString();
  const rows = await deps.db.execute<{ id: string }>(sql`
    select id from holds where status = 'active' and expires_at <= ${now}::timestamptz
    union
    select h.id from hold_segments hs join holds h on h.id = hs.hold_id
    where hs.reservation_uid is not null and hs.reservation_released_at is null
      and h.expires_at <= ${now}::timestamptz
    limit 200`);
  let ensured = 0;
  for (const row of rows) {
    if ((await deps.queues.ensure('hold.release', { holdId: row.id, reason: 'expired' })) !== 'present') {
      ensured++;
    }
  }
  return ensured;
}
