import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { idColumn, timestamps } from './columns.ts';
import { companies } from './companies.ts';

/**
 * Customers are unique per company by email (case-insensitive), not globally; a customer without an
 * email (a phone caller) is unique per company by phone. Phones are stored in E.164.
 */
export const customers = pgTable(
  'customers',
  {
    id: idColumn(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    email: text('email'),
    /** E.164 (+4915112345678), normalised on the way in so that every spelling of a number matches. */
    phone: text('phone'),
    /** Cal.com's attendee `language` (e.g. `de`, `pt-BR`), passed on with every booking. */
    language: text('language'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('customers_company_email_unique').on(t.companyId, sql`lower(${t.email})`),
    uniqueIndex('customers_company_phone_only_unique')
      .on(t.companyId, t.phone)
      .where(sql`${t.email} is null`),
    // Lookups by phone name one; customers known by email alone stay out of it.
    index('customers_company_phone_idx').on(t.companyId, t.phone).where(sql`${t.phone} is not null`),
    check('customers_contact_check', sql`${t.email} is not null or ${t.phone} is not null`),
  ],
);
