import { sql } from 'drizzle-orm';
import { pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { idColumn, timestamps } from './columns.ts';
import { companies } from './companies.ts';

/** Customers are unique per company by email (case-insensitive), not globally. */
export const customers = pgTable(
  'customers',
  {
    id: idColumn(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    email: text('email').notNull(),
    phone: text('phone'),
    ...timestamps,
  },
  (t) => [uniqueIndex('customers_company_email_unique').on(t.companyId, sql`lower(${t.email})`)],
);
