import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { idColumn } from './columns.ts';
import { companies } from './companies.ts';

/** Tokens upstream callers authenticate with. Only the SHA-256 of a token is stored. */
export const apiTokens = pgTable('api_tokens', {
  id: idColumn(),
  companyId: text('company_id')
    .notNull()
    .references(() => companies.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  /** The first characters of the token, to recognise it in listings. */
  tokenPrefix: text('token_prefix').notNull(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
