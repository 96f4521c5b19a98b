import { sql } from 'drizzle-orm';
import { boolean, check, index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { idColumn, oneOf, timestamps } from './columns.ts';
import { companies } from './companies.ts';

export const SERVICE_KINDS = ['simple', 'composite'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];
export const SERVICE_SOURCES = ['local', 'calcom'] as const;
export type ServiceSource = (typeof SERVICE_SOURCES)[number];

/** What a customer books. A simple service has one segment; a composite has N ordered segments. */
export const services = pgTable(
  'services',
  {
    id: idColumn(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    kind: text('kind').$type<ServiceKind>().notNull().default('simple'),
    preferSameStaff: boolean('prefer_same_staff').notNull().default(false),
    active: boolean('active').notNull().default(true),
    source: text('source').$type<ServiceSource>().notNull().default('local'),
    /** The operator's own name for this service (a catalog file's key); unique per company. */
    catalogKey: text('catalog_key'),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    index('services_company_idx').on(t.companyId),
    uniqueIndex('services_company_catalog_key_unique')
      .on(t.companyId, t.catalogKey)
      .where(sql`${t.deletedAt} is null`),
    check('services_kind_check', oneOf('kind', SERVICE_KINDS)),
    check('services_source_check', oneOf('source', SERVICE_SOURCES)),
  ],
);
