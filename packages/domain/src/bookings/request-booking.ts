import { appointmentHistory, appointments, type Database, idempotencyKeys, newId } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { assertTimeZone, parseInstant } from '@calgate/time';
import { sql } from 'drizzle-orm';
import { staffOptions } from '../availability/availability.ts';
import type { CompanyKeySource } from '../calcom-access.ts';
import type { DomainDeps } from '../deps.ts';
import { loadServiceCached } from '../services/catalog.ts';
import { IDEMPOTENCY_TTL_MS, inFlightError, lookupIdempotencyKey } from './idempotency.ts';
import { requestCompositeBooking } from './request-composite.ts';

export interface BookingRequest {
  serviceId: string;
  start: string;
  timeZone: string;
  customer: { name: string; email: string; phone?: string | undefined };
  staffId?: string | undefined;
  notes?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

export interface IdempotencyContext {
  key: string;
  fingerprint: string;
}

export interface BookingAccepted {
  appointmentId: string;
  /** True when an earlier request with the same Idempotency-Key produced this appointment. */
  replayed: boolean;
}

/**
 * Upserts a customer by email, unique per company (case-insensitive), keeping the latest name and phone.
 */
export async function upsertCustomer(
  db: Pick<Database, 'execute'>,
  companyId: string,
  customer: BookingRequest['customer'],
): Promise<string> {
  const id = newId('cus');
  const email = customer.email.trim();
  const rows = await db.execute<{ id: string }>(sql`
    insert into customers (id, company_id, name, email, phone)
    values (${id}, ${companyId}, ${customer.name}, ${email}, ${customer.phone ?? null})
    on conflict (company_id, lower(email)) do update
      set name = excluded.name, phone = coalesce(excluded.phone, customers.phone), updated_at = now()
    returning id`);
  const row = rows[0];
  if (row === undefined) throw new Error('customer upsert returned no row');
  return row.id;
}

/**
 * Validates a booking request, records the appointment as `pending` with its history row (and
 * the idempotency key) in one transaction, then enqueues `booking.create`. If Redis is down the
 * appointment is still recorded; the worker's sweeper enqueues it later.
 */
export async function requestBooking(
  deps: Pick<DomainDeps, 'db' | 'queues' | 'logger' | 'slotCache' | 'calcom'>,
  company: CompanyKeySource,
  request: BookingRequest,
  idempotency: IdempotencyContext | undefined,
): Promise<BookingAccepted> {
  const companyId = company.id;
  assertTimeZone(request.timeZone);
  const start = parseInstant(request.start, 'start');
  if (start.getTime() <= Date.now()) {
    throw new AppError('VALIDATION_FAILED', 'start: must be in the future', { details: { field: 'start' } });
  }
  if (idempotency !== undefined) {
    const found = await lookupIdempotencyKey(deps.db, companyId, idempotency.key, idempotency.fingerprint);
    if (found.kind === 'in-flight') throw inFlightError();
    if (found.kind === 'replay') return { appointmentId: found.appointmentId, replayed: true };
  }
  // Configuration read on every request: reused for a few seconds (Cal.com has the last word).
  const service = await loadServiceCached(deps.db, companyId, request.serviceId);
  if (service.kind === 'composite') {
    return requestCompositeBooking(deps, company, service, request, start, idempotency);
  }
  const options = staffOptions(service, 0, request.staffId);
  if (options.length === 0) {
    throw new AppError('INVALID_EVENT_TYPE', `serviceId: ${service.id} has no Cal.com event type mapped`, {
      details: { field: 'serviceId' },
    });
  }

  const appointmentId = newId('apt');
  const end = new Date(start.getTime() + service.totalMinutes * 60_000);
  try {
    await deps.db.transaction(async (tx) => {
      const customerId = await upsertCustomer(tx, companyId, request.customer);
      await tx.insert(appointments).values({
        id: appointmentId,
        companyId,
        serviceId: service.id,
        customerId,
        staffId: request.staffId ?? null,
        status: 'pending',
        startsAt: start,
        endsAt: end,
        timezone: request.timeZone,
        idempotencyKey: idempotency?.key ?? null,
        source: 'api',
        notes: request.notes ?? null,
        metadata: request.metadata ?? {},
      });
      await tx.insert(appointmentHistory).values({
        appointmentId,
        event: 'created',
        fromStatus: null,
        toStatus: 'pending',
        actor: 'api',
        data: { start: start.toISOString(), staffId: request.staffId ?? null },
      });
      await insertIdempotencyKey(tx, companyId, idempotency, appointmentId);
    });
  } catch (error) {
    // A concurrent request with the same key won the insert race.
    if (idempotency !== undefined && isUniqueViolation(error)) throw inFlightError();
    throw error;
  }

  await enqueueSafely(deps, 'booking.create', { appointmentId });
  return { appointmentId, replayed: false };
}

/** Records the key as in flight for this appointment, in the caller's transaction. */
export async function insertIdempotencyKey(
  tx: Pick<Database, 'insert'>,
  companyId: string,
  idempotency: IdempotencyContext | undefined,
  appointmentId: string,
): Promise<void> {
  if (idempotency === undefined) return;
  await tx.insert(idempotencyKeys).values({
    companyId,
    key: idempotency.key,
    method: 'POST',
    path: '/api/v2/bookings',
    requestHash: idempotency.fingerprint,
    state: 'in_flight',
    appointmentId,
    expiresAt: new Date(Date.now() + IDEMPOTENCY_TTL_MS),
  });
}

/** Enqueues, logging instead of failing when Redis is away: Postgres already holds the work. */
export async function enqueueSafely(
  deps: Pick<DomainDeps, 'queues' | 'logger'>,
  name: 'booking.create' | 'booking.cancel',
  payload: { appointmentId: string },
): Promise<void> {
  try {
    await deps.queues.enqueue(name, payload);
  } catch (error) {
    deps.logger.warn(
      { err: error, job: name, appointmentId: payload.appointmentId },
      'enqueue failed; the sweeper will enqueue it',
    );
  }
}

export function isUniqueViolation(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    if ((current as { code?: unknown }).code === '23505') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
