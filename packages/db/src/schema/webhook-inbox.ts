import { check, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { idColumn, oneOf } from './columns.ts';
import { companies } from './companies.ts';

export const WEBHOOK_STATUSES = [
  'received',
  'enqueued',
  'processing',
  'processed',
  'ignored',
  'failed',
] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/** Verified Cal.com deliveries, stored before they are acknowledged; deduplicated by `dedupe_key`. */
export const webhookInbox = pgTable(
  'webhook_inbox',
  {
    id: idColumn(),
    companyId: text('company_id').references(() => companies.id, { onDelete: 'cascade' }),
    triggerEvent: text('trigger_event').notNull(),
    bookingUid: text('booking_uid'),
    dedupeKey: text('dedupe_key').notNull().unique(),
    payload: jsonb('payload').notNull(),
    status: text('status').$type<WebhookStatus>().notNull().default('received'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true }),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (t) => [
    index('webhook_inbox_status_idx').on(t.status, t.receivedAt),
    index('webhook_inbox_booking_uid_idx').on(t.bookingUid),
    check('webhook_inbox_status_check', oneOf('status', WEBHOOK_STATUSES)),
  ],
);
