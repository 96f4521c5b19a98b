import { appointments, companies, customers, type Database } from '@calgate/db';
import { eq, sql } from 'drizzle-orm';
import type { AppointmentRow } from './appointments.ts';

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

/** Cal.com validates phone numbers as E.164; anything else stays in our record only. */
export function e164OrUndefined(phone: string | null): string | undefined {
  if (phone === null) return undefined;
  const compact = phone.replace(/[\s()-]/g, '');
  return /^\+[1-9]\d{6,14}$/.test(compact) ? compact : undefined;
}
