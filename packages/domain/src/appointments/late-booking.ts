import { storedTextId } from '@calgate/calendar';
import { appointmentHistory, appointments, type HistoryActor } from '@calgate/db';
import { and, eq, isNull } from 'drizzle-orm';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import type { DomainDeps } from '../deps.ts';
import { cancelInCalendar } from './calcom-lookup.ts';
import { invalidateAvailability } from './invalidate.ts';

/** What Cal.com records on a booking cancelled because its appointment was cancelled while it was made. */
export const CANCELLED_BEFORE_CONFIRMATION = 'Cancelled by the customer before confirmation';

/** A Cal.com booking that carries a cancelled appointment's id. */
export interface LateBooking {
  uid: string;
  bookingId: number | null;
  eventTypeId: number | null;
}

/**
 * A booking Cal.com made for an appointment that was cancelled meanwhile: the create's answer was
 * lost, and the cancel looked in Cal.com before Cal.com had written it. It is cancelled there too,
 * never left live for a customer who was told the appointment is cancelled, and its uid is recorded
 * with a history row. No event goes upstream again: the cancellation was announced already.
 */
export async function cancelLateBooking(
  deps: Pick<DomainDeps, 'db' | 'calcom' | 'slotCache' | 'logger'>,
  company: CompanyKeySource,
  appointment: { id: string; staffId: string | null; startsAt: Date; endsAt: Date },
  booking: LateBooking,
  actor: HistoryActor,
  signal?: AbortSignal,
): Promise<void> {
  const { client } = deps.calcom.forCompany(company);
  await cancelInCalendar(client, storedTextId(booking.uid), CANCELLED_BEFORE_CONFIRMATION, signal);
  await deps.db.transaction(async (tx) => {
    const recorded = await tx
      .update(appointments)
      .set({ calcomBookingUid: booking.uid, calcomBookingId: booking.bookingId, updatedAt: new Date() })
      .where(
        and(
          eq(appointments.id, appointment.id),
          eq(appointments.status, 'cancelled'),
          isNull(appointments.calcomBookingUid),
        ),
      )
      .returning({ id: appointments.id });
    if (recorded.length === 0) return;
    await tx.insert(appointmentHistory).values({
      appointmentId: appointment.id,
      event: 'cancelled',
      fromStatus: 'cancelled',
      toStatus: 'cancelled',
      actor,
      data: { uid: booking.uid, reason: 'booked in Cal.com after the cancel: cancelled there too' },
    });
  });
  deps.logger.warn(
    { appointmentId: appointment.id, uid: booking.uid },
    'a booking made after its appointment was cancelled was cancelled in Cal.com',
  );
  await invalidateAvailability(deps, {
    staffId: appointment.staffId,
    eventTypeIds: booking.eventTypeId === null ? [] : [booking.eventTypeId],
    spans: [{ start: appointment.startsAt, end: appointment.endsAt }],
  });
}
