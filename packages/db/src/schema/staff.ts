import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { idColumn, timestamps } from './columns.ts';
import { companies } from './companies.ts';

export const staff = pgTable(
  'staff',
  {
    id: idColumn(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    email: text('email'),
    calcomUserId: integer('calcom_user_id'),
    timezone: text('timezone').notNull().default('UTC'),
    active: boolean('active').notNull().default(true),
    /** The operator's own name for this person (a catalog file's key); unique per company. */
    catalogKey: text('catalog_key'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('staff_company_email_unique').on(t.companyId, t.email),
    uniqueIndex('staff_company_catalog_key_unique').on(t.companyId, t.catalogKey),
    // One person in several companies of a shared Cal.com account: holds and cache invalidation
    // find the other staff rows of the same Cal.com user.
    index('staff_calcom_user_idx').on(t.calcomUserId).where(sql`${t.calcomUserId} is not null`),
  ],
);
