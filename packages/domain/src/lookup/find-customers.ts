import { executePrepared } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { normalizePhone, phoneFromQuery } from '../appointments/customers/phone.ts';
import { type AppointmentSummary, SELECT_SUMMARY, type SummaryRow, toSummary } from './find-appointments.ts';

/** How many upcoming appointments each found customer lists. */
export const UPCOMING_PER_CUSTOMER = 20;

/** Statuses of an appointment that is still going to happen (or may, once Cal.com confirms it). */
const UPCOMING_STATUSES = ['pending', 'confirmed', 'rescheduling', 'requested'] as const;

export type CustomerWithUpcoming = {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  language: string | null;
  /** Appointments not yet over, soonest first (at most UPCOMING_PER_CUSTOMER). */
  upcoming: AppointmentSummary[];
};

/**
 * The company's customers with this phone (any spelling; E.164 after normalising) or email
 * (case-insensitive), each with their upcoming appointments. Several customers can share a phone
 * (a family's landline, a customer who once gave an email and once did not).
 * @throws AppError VALIDATION_FAILED naming `phone` or `email` (exactly one must be given).
 */
export async function findCustomers(
  client: postgres.Sql,
  companyId: string,
  query: { phone?: string | undefined; email?: string | undefined },
  phoneRegion: string | undefined,
): Promise<CustomerWithUpcoming[]> {
  if ((query.phone === undefined) === (query.email === undefined)) {
    const field = query.phone === undefined ? 'phone' : 'email';
    throw new AppError('VALIDATION_FAILED', `${field}: give exactly one of phone or email`, {
      details: { field },
    });
  }
  const match =
    query.phone !== undefined
      ? sql`phone = ${normalizePhone(phoneFromQuery(query.phone), 'phone', phoneRegion)}`
      : sql`lower(email) = ${query.email?.trim().toLowerCase()}`;
  const customers = await executePrepared<Omit<CustomerWithUpcoming, 'upcoming'>>(
    client,
    sql`
    select id, name, email, phone, language from customers
    where company_id = ${companyId} and ${match}
    order by created_at, id
    limit 50`,
  );
  if (customers.length === 0) return [];
  const ids = customers.map((c) => c.id);
  const statuses = sql.join(
    UPCOMING_STATUSES.map((s) => sql`${s}`),
    sql`, `,
  );
  // One query for every customer: per customer the next appointments, through (customer_id, starts_at,
  // id). "Not yet over" by this process's clock, as the intake's "start must be in the future" is.
  const rows = await executePrepared<SummaryRow>(
    client,
    sql`
    select * from (
      select page.*, row_number() over (partition by page.customer_id order by page.starts_at, page.id) as n
      from (
        ${SELECT_SUMMARY}
        where a.company_id = ${companyId}
          and a.customer_id in (${sql.join(
            ids.map((id) => sql`${id}`),
            sql`, `,
          )})
          and a.ends_at > ${new Date().toISOString()}::timestamptz and a.status in (${statuses})
      ) page
    ) ranked
    where n <= ${UPCOMING_PER_CUSTOMER}
    order by starts_at, id`,
  );
  return customers.map((customer) => ({
    ...customer,
    upcoming: rows.filter((row) => row.customer_id === customer.id).map(toSummary),
  }));
}
