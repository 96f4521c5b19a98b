import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { companies } from './companies.ts';

/**
 * The scope of a company inside the shared Cal.com account (the env default key): the event
 * types it owns. An event type belongs to at most one company (its id is the primary key), so a
 * booking in the shared account has at most one company to go to. Companies with their own key
 * own their whole account and have no rows here.
 */
export const companyEventTypes = pgTable(
  'company_event_types',
  {
    calcomEventTypeId: integer('calcom_event_type_id').primaryKey(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('company_event_types_company_idx').on(t.companyId)],
);
