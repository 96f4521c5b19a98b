import { check, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { appointments } from './appointments.ts';
import { idColumn, oneOf, timestamps } from './columns.ts';
import { serviceSegments } from './service-segments.ts';
import { staff } from './staff.ts';

export const SEGMENT_STATUSES = [
  'planned',
  'booking',
  'booked',
  'failed',
  'cancelling',
  'cancelled',
] as const;
export type SegmentStatus = (typeof SEGMENT_STATUSES)[number];

/** One Cal.com booking of a composite appointment. A reschedule books a new generation first. */
export const appointmentSegments = pgTable(
  'appointment_segments',
  {
    id: idColumn(),
    appointmentId: text('appointment_id')
      .notNull()
      .references(() => appointments.id, { onDelete: 'cascade' }),
    serviceSegmentId: text('service_segment_id')
      .notNull()
      .references(() => serviceSegments.id),
    position: integer('position').notNull(),
    generation: integer('generation').notNull().default(0),
    staffId: text('staff_id')
      .notNull()
      .references(() => staff.id),
    calcomEventTypeId: integer('calcom_event_type_id').notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    status: text('status').$type<SegmentStatus>().notNull().default('planned'),
    calcomBookingUid: text('calcom_booking_uid'),
    calcomBookingId: integer('calcom_booking_id'),
    failureReason: text('failure_reason'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('appointment_segments_unique').on(t.appointmentId, t.generation, t.position),
    index('appointment_segments_calcom_uid_idx').on(t.calcomBookingUid),
    check('appointment_segments_status_check', oneOf('status', SEGMENT_STATUSES)),
  ],
);
