import { CALCOM_LANGUAGES, type CalcomLanguage } from '@calgate/calcom';
import type { CreateBookingInput } from '@calgate/calendar';
import { appointments, companies, customers, type Database } from '@calgate/db';
import { eq, sql } from 'drizzle-orm';
import type { AppointmentRow } from './views.ts';

export interface WorkContext {
  appointment: AppointmentRow;
  company: typeof companies.$inferSelect;
  customer: typeof customers.$inferSelect;
}

/** Everything a booking job needs about its appointment, or undefined when it is gone. */
export async function loadWorkContext(db: Database, appointmentId: string): Promise<WorkContext | undefined> {
  const [row] = await preparedFor(db).execute({ appointmentId });
  return row;
}

/** The query is built once per database handle: every booking job runs it. */
function preparedFor(db: Database) {
  let query = prepared.get(db);
  if (query === undefined) {
    query = buildQuery(db);
    prepared.set(db, query);
  }
  return query;
}
const buildQuery = (db: Database) =>
  db
    .select({ appointment: appointments, company: companies, customer: customers })
    .from(appointments)
    .innerJoin(companies, eq(companies.id, appointments.companyId))
    .innerJoin(customers, eq(customers.id, appointments.customerId))
    .where(eq(appointments.id, sql.placeholder('appointmentId')))
    .limit(1)
    .prepare('load_work_context');
const prepared = new WeakMap<Database, ReturnType<typeof buildQuery>>();

/**
 * The customer as Cal.com's attendee (`CreateBookingAttendee`): the email and/or the phone number
 * (E.164, which Cal.com validates), and the language Cal.com writes its messages in. A phone
 * stored before phones were normalised that is not E.164 stays in our record only.
 */
export function calcomAttendee(
  customer: Pick<WorkContext['customer'], 'name' | 'email' | 'phone' | 'language'>,
  timeZone: string,
): CreateBookingInput['attendee'] {
  const compact = customer.phone?.replace(/[\s()-]/g, '');
  const phoneNumber = compact !== undefined && /^\+[1-9]\d{6,14}$/.test(compact) ? compact : undefined;
  const language = CALCOM_LANGUAGES.find((l) => l === customer.language);
  return {
    name: customer.name,
    ...(customer.email === null ? {} : { email: customer.email }),
    timeZone,
    ...(phoneNumber === undefined ? {} : { phoneNumber }),
    ...(language === undefined ? {} : { language: language as CalcomLanguage }),
  };
}

/**
 * The caller's notes as Cal.com's "Additional notes" booking field (`notes`, a system field of
 * every event type; Cal.com shows it as the booking's description).
 */
export function calcomNotes(notes: string | null): Pick<CreateBookingInput, 'bookingFieldsResponses'> {
  return notes === null || notes.trim() === '' ? {} : { bookingFieldsResponses: { notes } };
}
