import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { idColumn, timestamps } from './columns.ts';
import { companies } from './companies.ts';
import { serviceSegments } from './service-segments.ts';
import { services } from './services.ts';
import { staff } from './staff.ts';

/** Which Cal.com event type books a (service, segment, staff member). */
export const eventTypeMappings = pgTable(
  'event_type_mappings',
  {
    id: idColumn(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    serviceId: text('service_id')
      .notNull()
      .references(() => services.id, { onDelete: 'cascade' }),
    segmentId: text('segment_id')
      .notNull()
      .references(() => serviceSegments.id, { onDelete: 'cascade' }),
    staffId: text('staff_id')
      .notNull()
      .references(() => staff.id, { onDelete: 'cascade' }),
    calcomEventTypeId: integer('calcom_event_type_id').notNull(),
    calcomEventTypeSlug: text('calcom_event_type_slug'),
    /**
     * Whether the event type's booking fields require the attendee's email (Cal.com's default). Only
     * an event type whose email field is optional or hidden takes a phone-only booking.
     */
    requiresEmail: boolean('requires_email').notNull().default(true),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('event_type_mappings_segment_staff_unique')
      .on(t.segmentId, t.staffId)
      .where(sql`${t.deletedAt} is null`),
    index('event_type_mappings_event_type_idx').on(t.calcomEventTypeId),
    index('event_type_mappings_staff_idx').on(t.staffId),
  ],
);
