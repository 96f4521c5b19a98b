import { storedEventTypeId } from '@calgate/calendar';
import { type Database, holdSegments, holds, newId } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { assertTimeZone, parseInstant } from '@calgate/time';
import { eq, sql } from 'drizzle-orm';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import { invalidateAvailability } from '../appointments/invalidate.ts';
import { planComposite } from '../availability/composite-availability.ts';
import { freeStartsByOption } from '../availability/window.ts';
import {
  claimHoldKey,
  completeIdempotencyKey,
  forgetHoldKey,
  inFlightError,
  lookupHoldKey,
  renewHoldKey,
} from '../bookings/idempotency.ts';
import type { IdempotencyContext } from '../bookings/intake-shared.ts';
import type { DomainDeps } from '../deps.ts';
import { loadServiceCached, type ServiceDefinition, staffOptions } from '../services/catalog.ts';
import { heldStaff, lockStaff, samePerson, slotHeldError } from './guard.ts';
import { releaseReservations } from './release-hold.ts';
import { getHoldView, type HoldView } from './views.ts';

/** The longest a hold may last (15 minutes), whatever the caller or the configuration asks. */
export const MAX_HOLD_TTL_SECONDS = 900;

export interface HoldRequest {
  serviceId: string;
  start: string;
  timeZone: string;
  staffId?: string | undefined;
  /** How long to hold, in seconds. @defaultValue the configured default (HOLD_DEFAULT_TTL_SECONDS) */
  ttlSeconds?: number | undefined;
}

export interface HoldSettings {
  defaultTtlSeconds: number;
  minTtlSeconds: number;
}

interface PlannedSegment {
  position: number;
  staffId: string;
  eventTypeId: number;
  start: Date;
  end: Date;
}

type Deps = Pick<DomainDeps, 'db' | 'queues' | 'logger' | 'slotCache' | 'calcom'>;

/**
 * Holds a slot for the caller: checks that it is free (availability), claims it in Postgres (see
 * `guard.ts`), reserves every segment in Cal.com for at least as long, schedules the release job
 * at the expiry and answers the hold. Nothing is held when any step fails.
 * @throws AppError VALIDATION_FAILED (naming the field), SLOT_HELD, SLOT_UNAVAILABLE, ...
 */
export async function createHold(
  deps: Deps,
  company: CompanyKeySource,
  request: HoldRequest,
  settings: HoldSettings,
  idempotency?: IdempotencyContext,
): Promise<{ hold: HoldView; replayed: boolean }> {
  if (idempotency !== undefined) {
    const found = await lookupHoldKey(deps.db, company.id, idempotency.key, idempotency.fingerprint);
    if (found.kind === 'in-flight') throw inFlightError();
    if (found.kind === 'replay')
      return { hold: await getHoldView(deps.db, company.id, found.holdId), replayed: true };
  }
  const hold = await makeHold(deps, company, request, settings, idempotency);
  if (idempotency !== undefined) await completeIdempotencyKey(deps.db, company.id, idempotency.key, 201);
  return { hold, replayed: false };
}

async function makeHold(
  deps: Deps,
  company: CompanyKeySource,
  request: HoldRequest,
  settings: HoldSettings,
  idempotency: IdempotencyContext | undefined,
): Promise<HoldView> {
  assertTimeZone(request.timeZone);
  const start = parseInstant(request.start, 'start');
  if (start.getTime() <= Date.now()) {
    throw new AppError('VALIDATION_FAILED', 'start: must be in the future', { details: { field: 'start' } });
  }
  const ttlSeconds = request.ttlSeconds ?? settings.defaultTtlSeconds;
  const maxTtl = Math.max(settings.minTtlSeconds, MAX_HOLD_TTL_SECONDS);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < settings.minTtlSeconds || ttlSeconds > maxTtl) {
    throw new AppError(
      'VALIDATION_FAILED',
      `ttlSeconds: must be a whole number from ${settings.minTtlSeconds} to ${maxTtl}`,
      { details: { field: 'ttlSeconds' } },
    );
  }
  const service = await loadServiceCached(deps.db, company.id, request.serviceId);
  const candidates = await candidatePlans(deps, company, service, start, request);

  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const holdId = newId('hld');
  const chosen = await deps.db.transaction(async (tx) => {
    let sawHeld = false;
    await lockStaff(
      tx,
      candidates.flatMap((plan) => plan.map((s) => s.staffId)),
      'exclusive',
    );
    // The key is written with the hold it names, and goes if no hold is made (the transaction
    // rolls back). A concurrent request with the same key waits here, then gets 409.
    if (idempotency !== undefined && !(await claimHoldKey(tx, company.id, idempotency, holdId))) {
      throw inFlightError();
    }
    for (const plan of candidates) {
      if (await anyHeld(tx, plan)) {
        sawHeld = true;
        continue;
      }
      if (await pendingBookingOverlaps(tx, company.id, plan)) continue;
      await tx.insert(holds).values({
        id: holdId,
        companyId: company.id,
        serviceId: service.id,
        startsAt: start,
        endsAt: new Date(Math.max(...plan.map((s) => s.end.getTime()))),
        timezone: request.timeZone,
        expiresAt,
      });
      await tx.insert(holdSegments).values(
        plan.map((s) => ({
          id: newId('hsg'),
          holdId,
          position: s.position,
          staffId: s.staffId,
          calcomEventTypeId: s.eventTypeId,
          startsAt: s.start,
          endsAt: s.end,
        })),
      );
      return plan;
    }
    // Thrown inside the transaction, so that a key claimed above is rolled back with it.
    if (sawHeld) throw slotHeldError();
    throw new AppError('SLOT_UNAVAILABLE', 'The requested slot is being booked right now', {
      details: { field: 'start' },
    });
  });

  await reserveInCalcom(deps, company, { holdId, key: idempotency?.key }, chosen, ttlSeconds);
  try {
    await deps.queues.enqueue(
      'hold.release',
      { holdId, reason: 'expired' },
      { delay: Math.max(0, expiresAt.getTime() - Date.now()) },
    );
  } catch (error) {
    deps.logger.warn({ err: error, holdId }, 'hold expiry enqueue failed; the sweeper will release it');
  }
  await invalidateHeld(deps, chosen);
  return getHoldView(deps.db, company.id, holdId);
}

/**
 * Where the hold could go, in preference order: a composite service's one plan (every segment with
 * a staff member free at its offset), or each staff member free at `start` for a simple one.
 */
async function candidatePlans(
  deps: Deps,
  company: CompanyKeySource,
  service: ServiceDefinition,
  start: Date,
  request: HoldRequest,
): Promise<PlannedSegment[][]> {
  if (service.kind === 'composite') {
    if (request.staffId !== undefined) staffOptions(service, 0, request.staffId);
    const slot = await planComposite(deps, company, service, start, request.timeZone, request.staffId);
    return [
      slot.segments.map((part) => {
        const option = service.segments[part.position]?.options.find((o) => o.staffId === part.staffId);
        if (option === undefined) throw new Error('plan does not match the service');
        return {
          position: part.position,
          staffId: part.staffId,
          eventTypeId: option.eventTypeId,
          start: new Date(part.start),
          end: new Date(part.end),
        };
      }),
    ];
  }
  const options = staffOptions(service, 0, request.staffId);
  const perOption = await freeStartsByOption(deps, company, options, {
    start,
    end: new Date(start.getTime() + 60_000),
  });
  const end = new Date(start.getTime() + service.totalMinutes * 60_000);
  const plans = perOption
    .filter((p) => p.starts.includes(start.getTime()))
    .map((p) => [{ position: 0, staffId: p.option.staffId, eventTypeId: p.option.eventTypeId, start, end }]);
  if (plans.length === 0) {
    throw new AppError('SLOT_UNAVAILABLE', 'The requested slot is not available', {
      details: { field: 'start' },
    });
  }
  return plans;
}

async function anyHeld(tx: Pick<Database, 'execute'>, plan: PlannedSegment[]): Promise<boolean> {
  for (const s of plan) {
    if ((await heldStaff(tx, { staffIds: [s.staffId], start: s.start, end: s.end })).size > 0) return true;
  }
  return false;
}

/**
 * A booking of ours that is still on its way to Cal.com may land on this person's time: a pending
 * simple appointment of that person (any company sharing the Cal.com account), or of no staff
 * member yet in this company or in a company whose service maps to this person (its job may pick
 * them), a simple reschedule moving onto the time (`reschedule_start`), or a planned segment of a
 * composite one. Holding over it could hand the slot to two callers.
 */
async function pendingBookingOverlaps(
  tx: Pick<Database, 'execute'>,
  companyId: string,
  plan: PlannedSegment[],
): Promise<boolean> {
  for (const s of plan) {
    const start = s.start.toISOString();
    const end = s.end.toISOString();
    const rows = await tx.execute(sql`
      select 1 from appointments a
      where a.composite_group_uid is null
        and (a.staff_id in ${samePerson(s.staffId)}
          or (a.staff_id is null and (a.company_id = ${companyId} or exists (
            select 1 from event_type_mappings m
            where m.service_id = a.service_id and m.deleted_at is null
              and m.staff_id in ${samePerson(s.staffId)}))))
        and ((a.status = 'pending'
            and a.starts_at < ${end}::timestamptz and a.ends_at > ${start}::timestamptz)
          or (a.status = 'rescheduling' and a.reschedule_start < ${end}::timestamptz
            and a.reschedule_start + (a.ends_at - a.starts_at) > ${start}::timestamptz))
      union all
      select 1 from appointment_segments g join appointments a on a.id = g.appointment_id
      where a.status in ('pending', 'rescheduling')
        and g.status in ('planned', 'booking') and g.staff_id in ${samePerson(s.staffId)}
        and g.starts_at < ${end}::timestamptz and g.ends_at > ${start}::timestamptz
      limit 1`);
    if (rows.length > 0) return true;
  }
  return false;
}

/**
 * Reserves every segment in Cal.com, for whole minutes at least as long as the hold (Cal.com counts
 * `reservationDuration` in minutes; our release job deletes the reservations at the hold's expiry).
 * On any failure the reservations made so far are deleted and the hold is released.
 *
 * With an Idempotency-Key, each reservation renews the key's in-flight lease (a slow Cal.com must
 * not let a retry replay a hold still being made), and a failure forgets the key in the same
 * transaction that releases the hold: the retry then tries again.
 */
async function reserveInCalcom(
  deps: Deps,
  company: CompanyKeySource,
  { holdId, key }: { holdId: string; key: string | undefined },
  plan: PlannedSegment[],
  ttlSeconds: number,
): Promise<void> {
  const { client } = deps.calcom.forCompany(company);
  try {
    for (const segment of plan) {
      const reservation = await client.reserveSlot({
        eventTypeId: storedEventTypeId(segment.eventTypeId),
        slotStart: segment.start.toISOString(),
        reservationDuration: Math.ceil(ttlSeconds / 60),
      });
      await deps.db
        .update(holdSegments)
        .set({ reservationUid: reservation.reservationUid, updatedAt: new Date() })
        .where(sql`${holdSegments.holdId} = ${holdId} and ${holdSegments.position} = ${segment.position}`);
      if (key !== undefined) await renewHoldKey(deps.db, company.id, key, holdId);
    }
  } catch (error) {
    await deps.db.transaction(async (tx) => {
      await tx
        .update(holds)
        .set({ status: 'released', releasedAt: new Date(), updatedAt: new Date() })
        .where(eq(holds.id, holdId));
      if (key !== undefined) await forgetHoldKey(tx, company.id, key, holdId);
    });
    await releaseReservations(deps, company, holdId).catch((cleanup: unknown) =>
      deps.logger.warn({ err: cleanup, holdId }, 'reservations of a failed hold not deleted; they expire'),
    );
    throw error;
  }
}

async function invalidateHeld(deps: Deps, plan: PlannedSegment[]): Promise<void> {
  for (const segment of plan) {
    await invalidateAvailability(deps, {
      staffId: segment.staffId,
      eventTypeIds: [segment.eventTypeId],
      spans: [{ start: segment.start, end: segment.end }],
    });
  }
}
