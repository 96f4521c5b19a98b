import { type Database, newId } from '@calgate/db';
import { type SQL, sql } from 'drizzle-orm';
import type { CustomerInput } from './intake.ts';

/**
 * Upserts a customer by email, unique per company (case-insensitive), keeping the latest name, phone
 * and language; a customer without an email by phone (E.164, see `prepareCustomer`).
 */
export async function upsertCustomer(
  db: Pick<Database, 'execute'>,
  companyId: string,
  customer: CustomerInput,
): Promise<string> {
  const rows = await db.execute<{ id: string }>(customerUpsert(companyId, customer));
  const row = rows[0];
  if (row === undefined) throw new Error('customer upsert returned no row');
  return row.id;
}

/**
 * The upsert as one statement, returning the customer as it now is (also used inside the intake's
 * statement). With `onlyIf`, nothing is written (and nothing returned) unless that SQL condition holds.
 */
export function customerUpsert(companyId: string, customer: CustomerInput, onlyIf?: SQL) {
  const email = customer.email?.trim() ?? null;
  const conflict =
    email === null ? sql`(company_id, phone) where email is null` : sql`(company_id, lower(email))`;
  const row = sql`${newId('cus')}, ${companyId}, ${customer.name}, ${email}, ${customer.phone ?? null},
      ${customer.language ?? null}`;
  return sql`
    insert into customers (id, company_id, name, email, phone, language)
    ${onlyIf === undefined ? sql`values (${row})` : sql`select ${row} where ${onlyIf}`}
    on conflict ${conflict} do update
      set name = excluded.name, phone = coalesce(excluded.phone, customers.phone),
        language = coalesce(excluded.language, customers.language), updated_at = now()
    returning id, name, email, phone`;
}
