import { appointmentSegments, appointments, companies, type Database } from '@calgate/db';
import { and, eq, inArray, isNull, or, type SQL } from 'drizzle-orm';
import type { ObservedBooking } from './observed.ts';

/**
 * The company on the shared Cal.com account whose appointment (or composite segment) this booking
 * continues: Cal.com's own chain fields name one of its bookings (the uid, the booking it was
 * rescheduled from, the iCal uid), never our metadata, which anyone booking through Cal.com can
 * write. An event type may move between companies of the shared account (unassigned at one,
 * assigned to another); the bookings its old owner made stay that company's.
 */
export async function sharedChainOwner(db: Database, observed: ObservedBooking): Promise<string | undefined> {
  const uids = [observed.uid, ...(observed.fromUid === null ? [] : [observed.fromUid])];
  const shared = isNull(companies.calcomApiKeyEncrypted);
  const byAppointment: SQL | undefined =
    observed.icalUid === null
      ? inArray(appointments.calcomBookingUid, uids)
      : or(inArray(appointments.calcomBookingUid, uids), eq(appointments.calcomIcalUid, observed.icalUid));
  const [appointment] = await db
    .select({ companyId: appointments.companyId })
    .from(appointments)
    .innerJoin(companies, eq(companies.id, appointments.companyId))
    .where(and(byAppointment, shared))
    .limit(1);
  if (appointment !== undefined) return appointment.companyId;
  const [segment] = await db
    .select({ companyId: appointments.companyId })
    .from(appointmentSegments)
    .innerJoin(appointments, eq(appointments.id, appointmentSegments.appointmentId))
    .innerJoin(companies, eq(companies.id, appointments.companyId))
    .where(and(inArray(appointmentSegments.calcomBookingUid, uids), shared))
    .limit(1);
  return segment?.companyId;
}
