import { sql } from 'drizzle-orm';
import { check, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { idColumn } from './columns.ts';
import { services } from './services.ts';

/** One step of a service; staff are free during the pause after it. */
export const serviceSegments = pgTable(
  'service_segments',
  {
    id: idColumn(),
    serviceId: text('service_id')
      .notNull()
      .references(() => services.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    name: text('name').notNull(),
    durationMinutes: integer('duration_minutes').notNull(),
    pauseAfterMinutes: integer('pause_after_minutes').notNull().default(0),
  },
  (t) => [
    uniqueIndex('service_segments_position_unique').on(t.serviceId, t.position),
    check('service_segments_duration_check', sql`${t.durationMinutes} > 0`),
    check('service_segments_pause_check', sql`${t.pauseAfterMinutes} >= 0`),
    check('service_segments_position_check', sql`${t.position} >= 0`),
  ],
);
