import { bigint, check, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { appointments } from './appointments.ts';
import { oneOf } from './columns.ts';

export const HISTORY_ACTORS = ['api', 'worker', 'webhook', 'reconcile', 'operator'] as const;
export type HistoryActor = (typeof HISTORY_ACTORS)[number];

/**
 * What a history row records. Closed in TypeScript so a new event is added here on purpose; the
 * column stays text (older rows keep whatever they were written with).
 */
export const HISTORY_EVENTS = [
  'created',
  'confirmed',
  'failed',
  'requested',
  'rejected',
  'completed',
  'times_changed',
  'recorded_from_calcom',
  'reschedule_requested',
  'rescheduled',
  'reschedule_failed',
  'cancel_requested',
  'cancelled',
  'cancel_failed',
  'segment_booked',
  'segment_moved_in_calcom',
  'compensation_exhausted',
  'booked_after_failure',
  'attention_resolved',
] as const;
export type HistoryEvent = (typeof HISTORY_EVENTS)[number];

/** Every state change of an appointment, written in the same transaction as the change. */
export const appointmentHistory = pgTable(
  'appointment_history',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    appointmentId: text('appointment_id')
      .notNull()
      .references(() => appointments.id, { onDelete: 'cascade' }),
    event: text('event').$type<HistoryEvent>().notNull(),
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
