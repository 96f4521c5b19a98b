import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { idColumn } from './columns.ts';
import { companies } from './companies.ts';

/**
 * A company's webhook secrets replaced by a rotation: each still verifies deliveries until
 * `valid_until`, so deliveries Cal.com signed just before the rotation are not lost.
 */
export const retiredWebhookSecrets = pgTable(
  'retired_webhook_secrets',
  {
    id: idColumn(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    /** AES-256-GCM ciphertext, as the current secret. */
    secretEncrypted: text('secret_encrypted').notNull(),
    validUntil: timestamp('valid_until', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('retired_webhook_secrets_company_idx').on(t.companyId, t.validUntil)],
);
