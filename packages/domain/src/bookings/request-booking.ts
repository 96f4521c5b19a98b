import { type Database, executePreparedOn, newId } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { assertTimeZone, parseInstant } from '@calgate/time';
import { sql } from 'drizzle-orm';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import { assertContactAccepted, prepareCustomer } from '../appointments/customers/intake.ts';
import { customerUpsert } from '../appointments/customers/upsert.ts';
import { type AppointmentView, appointmentView } from '../appointments/views.ts';
import type { DomainDeps } from '../deps.ts';
import { consumeHold, type HeldSlot, heldSlotFor } from '../holds/consume.ts';
import { heldStaffQuery, slotHeldError } from '../holds/guard.ts';
import { loadServiceCached, staffOptions } from '../services/catalog.ts';
import { idempotencyExpiresAt, inFlightError, lookupIdempotencyKey } from './idempotency.ts';
import {
  type BookingAccepted,
  type BookingRequest,
  enqueueSafely,
  type IdempotencyContext,
  intakeWriteError,
} from './intake-shared.ts';
import { requestCompositeBooking } from './request-composite.ts';

/**
 * Validates a booking request, records the appointment as `pending` with its history row (and
 * the idempotency key) in one statement that also refuses time someone else holds (SLOT_HELD),
 * then enqueues `booking.create`. If Redis is down the
 * appointment is still recorded; the worker's sweeper enqueues it later.
 */
export async function requestBooking(
  deps: Pick<DomainDeps, 'db' | 'queues' | 'logger' | 'slotCache' | 'calcom' | 'phoneRegion'>,
  company: CompanyKeySource,
  received: BookingRequest,
  idempotency: IdempotencyContext | undefined,
): Promise<BookingAccepted> {
  let request = { ...received, customer: prepareCustomer(received.customer, deps.phoneRegion) };
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
  assertContactAccepted(service, request.staffId, request.customer);
  const held: HeldSlot | undefined =
    request.holdId === undefined
      ? undefined
      : await heldSlotFor(deps.db, companyId, { ...request, holdId: request.holdId, start });
  if (service.kind === 'composite') {
    return requestCompositeBooking(deps, company, service, request, start, idempotency, held);
  }
  // A hold books its own staff member; without one, held time of others is refused here already.
  if (held !== undefined) request = { ...request, staffId: held.staffId };
  const options = staffOptions(service, 0, request.staffId);
  if (options.length === 0) {
    throw new AppError('INVALID_EVENT_TYPE', `serviceId: ${service.id} has no Cal.com event type mapped`, {
      details: { field: 'serviceId' },
    });
  }

  const appointmentId = newId('apt');
  const end = new Date(start.getTime() + service.totalMinutes * 60_000);
  const member = options.length === 1 && request.staffId !== undefined ? (options[0] ?? null) : null;
  let written: WrittenIntake;
  try {
    const intake = {
      appointmentId,
      companyId,
      serviceId: service.id,
      request,
      start,
      end,
      idempotency,
      // Without a hold, held time of others is refused by the same statement (SLOT_HELD).
      notHeld: held === undefined ? options.map((o) => o.staffId) : undefined,
    };
    written =
      held === undefined
        ? await insertPendingAppointment(deps.db, intake)
        : await deps.db.transaction(async (tx) => {
            const result = await insertPendingAppointment(tx, intake);
            await consumeHold(tx, held.holdId, appointmentId);
            return result;
          });
  } catch (error) {
    throw intakeWriteError(deps, companyId, idempotency, appointmentId, error);
  }

  // The job names its company: it takes its budget share alongside its first read. It names the
  // hold it used, so that only such a booking's job spends an enqueue on releasing reservations.
  await enqueueSafely(
    deps,
    'booking.create',
    held === undefined ? { appointmentId, companyId } : { appointmentId, companyId, holdId: held.holdId },
    companyId,
  );
  const view = appointmentView(
    {
      id: appointmentId,
      status: 'pending',
      serviceId: service.id,
      startsAt: start,
      endsAt: end,
      timezone: request.timeZone,
      calcomBookingUid: null,
      calcomBookingId: null,
      failureCode: null,
      failureReason: null,
      needsAttention: false,
      notes: request.notes ?? null,
      metadata: request.metadata ?? {},
      source: 'api',
      createdAt: written.createdAt,
      updatedAt: written.updatedAt,
    },
    written.customer,
    member === null ? null : { id: member.staffId, name: member.staffName },
    [
      {
        event: 'created',
        fromStatus: null,
        toStatus: 'pending',
        actor: 'api',
        createdAt: written.historyAt,
        data: createdData(start, request.staffId),
      },
    ],
  );
  return { appointmentId, replayed: false, view };
}

const createdData = (start: Date, staffId: string | undefined) => ({
  start: start.toISOString(),
  staffId: staffId ?? null,
});

interface WrittenIntake {
  customer: AppointmentView['customer'];
  createdAt: Date;
  updatedAt: Date;
  historyAt: Date;
}

/**
 * The customer (upserted), the pending appointment, its `created` history row and the
 * idempotency key, written atomically in one statement: one round trip to PostgreSQL instead of
 * a transaction of six (the intake's cost under load is its round trips).
 */
async function insertPendingAppointment(
  db: Pick<Database, 'execute'>,
  input: {
    appointmentId: string;
    companyId: string;
    serviceId: string;
    request: BookingRequest;
    start: Date;
    end: Date;
    idempotency: IdempotencyContext | undefined;
    /** Staff who could take it: written only if not every one of them is held by someone else. */
    notHeld?: string[] | undefined;
  },
): Promise<WrittenIntake> {
  const { request, idempotency, companyId } = input;
  const people = [...new Set(input.notHeld ?? [])];
  const held =
    people.length === 0
      ? undefined
      : heldStaffQuery({ staffIds: people, start: input.start, end: input.end });
  const key =
    idempotency === undefined
      ? sql``
      : sql`, key as (
      insert into idempotency_keys
        (company_id, key, method, path, request_hash, state, appointment_id, expires_at)
      select ${companyId}, ${idempotency.key}, 'POST', '/api/v2/bookings', ${idempotency.fingerprint},
        'in_flight', id, ${idempotencyExpiresAt()}
      from appointment)`;
  // Milliseconds, as the API shows every instant.
  const ms = (column: string) => sql.raw(`floor(extract(epoch from ${column}) * 1000)::float8`);
  const rows = await executePreparedOn<{
    customer_id: string;
    name: string;
    email: string | null;
    phone: string | null;
    created_at: number;
    updated_at: number;
    history_at: number;
  }>(
    db,
    sql`
    with ${held === undefined ? sql`` : sql`held as (${held}), `}customer as (${customerUpsert(
      companyId,
      request.customer,
      held === undefined ? undefined : sql`(select count(*) from held) < ${people.length}`,
    )}), appointment as (
      insert into appointments (id, company_id, service_id, customer_id, staff_id, status, starts_at, ends_at,
        timezone, idempotency_key, source, notes, metadata)
      select ${input.appointmentId}, ${companyId}, ${input.serviceId}, customer.id, ${request.staffId ?? null},
        'pending', ${input.start.toISOString()}::timestamptz, ${input.end.toISOString()}::timestamptz,
        ${request.timeZone}, ${idempotency?.key ?? null}, 'api', ${request.notes ?? null},
        ${JSON.stringify(request.metadata ?? {})}::jsonb
      from customer
      returning id, created_at, updated_at
    ), history as (
      insert into appointment_history (appointment_id, event, from_status, to_status, actor, data)
      select id, 'created', null, 'pending', 'api',
        ${JSON.stringify(createdData(input.start, request.staffId))}::jsonb
      from appointment
      returning created_at
    )${key}
    select customer.id as customer_id, customer.name, customer.email, customer.phone,
      ${ms('appointment.created_at')} as created_at, ${ms('appointment.updated_at')} as updated_at,
      ${ms('history.created_at')} as history_at
    from customer, appointment, history`,
  );
  const row = rows[0];
  if (row === undefined) {
    if (held !== undefined) throw slotHeldError();
    throw new Error('the appointment insert returned no row');
  }
  return {
    customer: { id: row.customer_id, name: row.name, email: row.email, phone: row.phone },
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    historyAt: new Date(row.history_at),
  };
}
