import { check, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { oneOf } from './columns.ts';
import { companies } from './companies.ts';

export const SYNC_KINDS = ['event_types', 'bookings'] as const;
export type SyncKind = (typeof SYNC_KINDS)[number];

/** Where each scheduled sync of each company stands. */
export const syncState = pgTable(
  'sync_state',
  {
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<SyncKind>().notNull(),
    lastStartedAt: timestamp('last_started_at', { withTimezone: true }),
    lastSucceededAt: timestamp('last_succeeded_at', { withTimezone: true }),
    cursor: text('cursor'),
    lastError: text('last_error'),
    stats: jsonb('stats').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    primaryKey({ columns: [t.companyId, t.kind] }),
    check('sync_state_kind_check', oneOf('kind', SYNC_KINDS)),
  ],
);
