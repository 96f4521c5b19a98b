import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { idColumn, oneOf, timestamps } from './columns.ts';
import { companies } from './companies.ts';
import { customers } from './customers.ts';
import { services } from './services.ts';
import { staff } from './staff.ts';

export const APPOINTMENT_STATUSES = [
  'pending',
  'confirmed',
  'failed',
  'rescheduling',
  'cancelling',
  'cancelled',
  'requested',
  'rejected',
  'completed',
] as const;
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];
export const APPOINTMENT_SOURCES = ['api', 'calcom', 'reconcile'] as const;
export type AppointmentSource = (typeof APPOINTMENT_SOURCES)[number];

export const appointments = pgTable(
  'appointments',
  {
    id: idColumn(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    serviceId: text('service_id')
      .notNull()
      .references(() => services.id),
    customerId: text('customer_id')
      .notNull()
      .references(() => customers.id),
    staffId: text('staff_id').references(() => staff.id),
    status: text('status').$type<AppointmentStatus>().notNull(),
    /** Set when something failed in a way an operator has to look at. */
    needsAttention: boolean('needs_attention').notNull().default(false),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    timezone: text('timezone').notNull(),
    /** Cal.com's booking uid — it changes when the booking is rescheduled. */
    calcomBookingUid: text('calcom_booking_uid'),
    calcomBookingId: integer('calcom_booking_id'),
    /** Cal.com's `iCalUID`: the same across a reschedule chain, so late deliveries find their appointment. */
    calcomIcalUid: text('calcom_ical_uid'),
    /** Cal.com's `iCalSequence` of the last change applied; older webhook deliveries are stale. */
    calcomSequence: integer('calcom_sequence'),
    compositeGroupUid: text('composite_group_uid'),
    /** A composite appointment: the generation of segments its last confirmation made current. */
    currentGeneration: integer('current_generation').notNull().default(0),
    /**
     * The latest reschedule request: its id, the time asked for and (composite) the generation of
     * segments planned for it. Pending while the status is `rescheduling`; history keeps the log.
     */
    rescheduleRequestId: text('reschedule_request_id'),
    rescheduleStart: timestamp('reschedule_start', { withTimezone: true }),
    rescheduleGeneration: integer('reschedule_generation'),
    /**
     * A simple appointment's at-most-once marker: when the booking job last recorded that it was about
     * to send the create to Cal.com (committed before the send, with the hold check). A later run
     * that finds it set looks in Cal.com before it sends again.
     */
    bookingSentAt: timestamp('booking_sent_at', { withTimezone: true }),
    /**
     * The Idempotency-Key the appointment was requested with, for the record only: the key is held
     * (and expires) in `idempotency_keys`, so an expired key may be used again for a new booking.
     */
    idempotencyKey: text('idempotency_key'),
    source: text('source').$type<AppointmentSource>().notNull().default('api'),
    notes: text('notes'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    failureCode: text('failure_code'),
    failureReason: text('failure_reason'),
    version: integer('version').notNull().default(0),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    index('appointments_starts_at_idx').on(t.startsAt),
    // Every index is written with each new row version (a booking makes three): columns that are
    // empty for most rows are indexed only where set, and every lookup by them names a value.
    uniqueIndex('appointments_calcom_uid_unique')
      .on(t.calcomBookingUid)
      .where(sql`${t.calcomBookingUid} is not null`),
    index('appointments_calcom_booking_id_idx')
      .on(t.calcomBookingId)
      .where(sql`${t.calcomBookingId} is not null`),
    index('appointments_composite_group_idx')
      .on(t.compositeGroupUid)
      .where(sql`${t.compositeGroupUid} is not null`),
    index('appointments_calcom_ical_uid_idx').on(t.calcomIcalUid).where(sql`${t.calcomIcalUid} is not null`),
    index('appointments_company_status_idx').on(t.companyId, t.status),
    // Lookups (GET /api/v2/bookings) page in (starts_at, id) order: by company, customer or staff.
    index('appointments_company_starts_idx').on(t.companyId, t.startsAt, t.id),
    index('appointments_customer_starts_idx').on(t.customerId, t.startsAt, t.id),
    index('appointments_staff_starts_idx').on(t.staffId, t.startsAt, t.id),
    index('appointments_work_idx').on(t.status, t.updatedAt),
    check('appointments_status_check', oneOf('status', APPOINTMENT_STATUSES)),
    check('appointments_source_check', oneOf('source', APPOINTMENT_SOURCES)),
    check('appointments_times_check', sql`${t.endsAt} > ${t.startsAt}`),
  ],
);
