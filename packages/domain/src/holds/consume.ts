import { type Database, holds } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, eq, gt } from 'drizzle-orm';
import type { CompositeSlot } from '../availability/composite-slots.ts';
import { heldStaff, slotHeldError } from './guard.ts';
import { effectiveStatus, holdNotFound, loadHold } from './views.ts';

/** What a booking with a `holdId` books: exactly the held slot. */
export interface HeldSlot {
  holdId: string;
  /** The staff member of a simple service's hold. */
  staffId: string;
  /** The held segments as a composite plan (a simple hold has one). */
  plan: CompositeSlot;
}

/**
 * Checks a booking request against its hold: this company's, still active, for the same service
 * and start (and staff member, when the request names one).
 * @throws AppError HOLD_NOT_FOUND, HOLD_EXPIRED, INVALID_STATE (already used), VALIDATION_FAILED
 */
export async function heldSlotFor(
  db: Database,
  companyId: string,
  request: { holdId: string; serviceId: string; start: Date; staffId?: string | undefined },
): Promise<HeldSlot> {
  const found = await loadHold(db, companyId, request.holdId).catch((error: unknown) => {
    if (error instanceof AppError && error.code === 'HOLD_NOT_FOUND')
      throw holdNotFound(request.holdId, 'holdId');
    throw error;
  });
  const { hold, segments } = found;
  assertUsable(hold);
  if (hold.serviceId !== request.serviceId) {
    throw new AppError('VALIDATION_FAILED', `serviceId: must be the held service (${hold.serviceId})`, {
      details: { field: 'serviceId' },
    });
  }
  if (hold.startsAt.getTime() !== request.start.getTime()) {
    throw new AppError(
      'VALIDATION_FAILED',
      `start: must be the held start (${hold.startsAt.toISOString()})`,
      {
        details: { field: 'start' },
      },
    );
  }
  if (request.staffId !== undefined && !segments.some((s) => s.staffId === request.staffId)) {
    throw new AppError('VALIDATION_FAILED', 'staffId: the hold is for another staff member', {
      details: { field: 'staffId' },
    });
  }
  const first = segments[0];
  if (first === undefined) throw new Error(`hold ${hold.id} has no segments`);
  return {
    holdId: hold.id,
    staffId: first.staffId,
    plan: {
      start: hold.startsAt.getTime(),
      end: hold.endsAt.getTime(),
      segments: segments.map((s) => ({
        position: s.position,
        start: s.startsAt.getTime(),
        end: s.endsAt.getTime(),
        staffId: s.staffId,
      })),
      pauses: [],
    },
  };
}

function assertUsable(hold: { id: string; status: string; expiresAt: Date; appointmentId: string | null }) {
  if (hold.status === 'consumed') {
    throw new AppError('INVALID_STATE', `holdId: hold ${hold.id} was already used by another booking`, {
      details: { field: 'holdId', appointmentId: hold.appointmentId },
    });
  }
  const status = effectiveStatus(hold as Parameters<typeof effectiveStatus>[0]);
  if (status !== 'active') {
    throw new AppError('HOLD_EXPIRED', `holdId: hold ${hold.id} is ${status}; hold the slot again`, {
      details: { field: 'holdId', status },
    });
  }
}

/**
 * Marks the hold used by `appointmentId`, in the transaction that writes the appointment (after
 * it: the hold refers to it), only if it is still active and unexpired: of two bookings with one
 * hold, one gets it.
 */
export async function consumeHold(
  tx: Pick<Database, 'update' | 'select'>,
  holdId: string,
  appointmentId: string,
): Promise<void> {
  const now = new Date();
  const used = await tx
    .update(holds)
    .set({ status: 'consumed', appointmentId, updatedAt: now })
    .where(and(eq(holds.id, holdId), eq(holds.status, 'active'), gt(holds.expiresAt, now)))
    .returning({ id: holds.id });
  if (used.length > 0) return;
  const [current] = await tx.select().from(holds).where(eq(holds.id, holdId));
  if (current === undefined) throw holdNotFound(holdId, 'holdId');
  assertUsable(current);
  throw new AppError('HOLD_EXPIRED', `holdId: hold ${holdId} has ended`, { details: { field: 'holdId' } });
}

/**
 * For a booking without a hold: SLOT_HELD when every staff member who could take each part of it
 * is held by someone else (a simple service's booking can still go to a free colleague).
 */
export async function assertNotHeld(
  db: Pick<Database, 'execute'>,
  parts: Array<{ staffIds: string[]; start: Date; end: Date }>,
): Promise<void> {
  for (const part of parts) {
    const held = await heldStaff(db, part);
    if (part.staffIds.length > 0 && part.staffIds.every((id) => held.has(id))) throw slotHeldError();
  }
}
