import { type Database, idempotencyKeys } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { errorLogFields, type JobPayload } from '@calgate/jobs';
import type { CustomerInput } from '../appointments/customers/intake.ts';
import { isUniqueViolation } from '../appointments/unique-violation.ts';
import type { AppointmentView } from '../appointments/views.ts';
import type { DomainDeps } from '../deps.ts';
import { idempotencyExpiresAt, inFlightError, settleKeyInBackground } from './idempotency.ts';

export interface BookingRequest {
  serviceId: string;
  start: string;
  timeZone: string;
  customer: CustomerInput;
  staffId?: string | undefined;
  notes?: string | undefined;
  metadata?: Record<string, string> | undefined;
  /** Books exactly this held slot (`POST /api/v2/holds`); the hold is used up. */
  holdId?: string | undefined;
}

export interface IdempotencyContext {
  key: string;
  fingerprint: string;
}

export interface BookingAccepted {
  appointmentId: string;
  /** True when an earlier request with the same Idempotency-Key produced this appointment. */
  replayed: boolean;
  /** The appointment as this request wrote it (so the answer needs no read-back), when it did. */
  view?: AppointmentView;
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
    expiresAt: idempotencyExpiresAt(),
  });
}

/**
 * What to throw when the statement (or transaction) that writes a new appointment and its key
 * failed. A unique violation on the key means a concurrent request with the same key won the
 * insert race (409 IDEMPOTENCY_KEY_IN_USE). Our own refusals (AppError) mean nothing was written.
 * Any other failure leaves the outcome unknown: the commit may have happened and its answer been
 * lost, so the key, if it was written, is settled once the database answers again.
 */
export function intakeWriteError(
  deps: Pick<DomainDeps, 'db' | 'logger'>,
  companyId: string,
  idempotency: IdempotencyContext | undefined,
  appointmentId: string,
  error: unknown,
): unknown {
  if (idempotency === undefined || error instanceof AppError) return error;
  if (isUniqueViolation(error)) return inFlightError();
  void settleKeyInBackground(deps, companyId, idempotency.key, appointmentId);
  return error;
}

/**
 * Enqueues, logging instead of failing when Redis is away: Postgres already holds the work. The
 * job takes its company's fair turn in the queue.
 */
export async function enqueueSafely<N extends 'booking.create' | 'booking.cancel'>(
  deps: Pick<DomainDeps, 'queues' | 'logger'>,
  name: N,
  payload: JobPayload<N>,
  companyId: string,
): Promise<void> {
  try {
    await deps.queues.enqueue(name, payload, { fairGroup: companyId });
  } catch (error) {
    deps.logger.warn(
      { ...errorLogFields(error).fields, job: name, appointmentId: payload.appointmentId },
      'enqueue failed; the sweeper will enqueue it',
    );
  }
}
