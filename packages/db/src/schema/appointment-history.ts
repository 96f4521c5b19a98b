import { bigint, check, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { appointments } from './appointments.ts';
import { oneOf } from './columns.ts';

export const HISTORY_ACTORS = ['api', 'worker', 'webhook', 'reconcile', 'operator'] as const;
export type HistoryActor = (typeof HISTORY_ACTORS)[number];

/** Every state change of an appointment, written in the same transaction as the change. */
export const appointmentHistory = pgTable(
  'appointment_history',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    appointmentId: text('appointment_id')
      .notNull()
      .references(() => appointments.id, { onDelete: 'cascade' }),
    event: text('event').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status'),
    actor: text('actor').$type<HistoryActor>().notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('appointment_history_appointment_idx').on(t.appointmentId, t.createdAt),
    check('appointment_history_actor_check', oneOf('actor', HISTORY_ACTORS)),
  ],
);
