import { integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { idColumn, timestamps } from './columns.ts';

export const companies = pgTable('companies', {
  id: idColumn(),
  name: text('name').notNull(),
  slug: text('slug').notNull().unique(),
  timezone: text('timezone').notNull().default('UTC'),
  /** AES-256-GCM ciphertext of the company's own Cal.com key; null means the env default. */
  calcomApiKeyEncrypted: text('calcom_api_key_encrypted'),
  /** Ciphertext of the company's own webhook secret; null means the env default. */
  calcomWebhookSecretEncrypted: text('calcom_webhook_secret_encrypted'),
  calcomUsername: text('calcom_username'),
  calcomUserId: integer('calcom_user_id'),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  /** Set by an operator: the company's API tokens stop working until it is enabled again. */
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  ...timestamps,
});
