import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { appointments } from './appointments.ts';
import { idColumn, oneOf, timestamps } from './columns.ts';
import { companies } from './companies.ts';
import { services } from './services.ts';
import { staff } from './staff.ts';

/**
 * active: the slot is held until `expires_at`; consumed: a booking took it (it keeps guarding the
 * slot while that booking is pending); released: the caller let it go; expired: its time ran out.
 */
export const HOLD_STATUSES = ['active', 'consumed', 'released', 'expired'] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];

/** A slot held for one caller between "find" and "book" (`POST /api/v2/holds`). */
export const holds = pgTable(
  'holds',
  {
    id: idColumn(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    serviceId: text('service_id')
      .notNull()
      .references(() => services.id),
    status: text('status').$type<HoldStatus>().notNull().default('active'),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    timezone: text('timezone').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** The appointment that consumed the hold. */
    appointmentId: text('appointment_id').references(() => appointments.id),
    releasedAt: timestamp('released_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    index('holds_company_status_idx').on(t.companyId, t.status),
    // The sweeper's question: active holds past their time.
    index('holds_active_expiry_idx').on(t.expiresAt).where(sql`${t.status} = 'active'`),
    check('holds_status_check', oneOf('status', HOLD_STATUSES)),
    check('holds_times_check', sql`${t.endsAt} > ${t.startsAt}`),
  ],
);

/** One held segment: a staff member's time and its Cal.com reservation. */
export const holdSegments = pgTable(
  'hold_segments',
  {
    id: idColumn(),
    holdId: text('hold_id')
      .notNull()
      .references(() => holds.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    staffId: text('staff_id')
      .notNull()
      .references(() => staff.id),
    calcomEventTypeId: integer('calcom_event_type_id').notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    /** Cal.com's `reservationUid`, once the reservation was made. */
    reservationUid: text('reservation_uid'),
    /** When the reservation was deleted in Cal.com (or found gone). */
    reservationReleasedAt: timestamp('reservation_released_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('hold_segments_position_unique').on(t.holdId, t.position),
    // The guard's question: held time of a staff member overlapping a window. Holds are for future
    // times, so few segments of a staff member end after a window's start.
    index('hold_segments_staff_ends_idx').on(t.staffId, t.endsAt),
    // The sweeper's other question: reservations still live in Cal.com (few at any time).
    index('hold_segments_open_reservation_idx')
      .on(t.holdId)
      .where(sql`${t.reservationUid} is not null and ${t.reservationReleasedAt} is null`),
  ],
);
