import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { appointments } from './appointments.ts';
import { idColumn, oneOf, timestamps } from './columns.ts';
import { companies } from './companies.ts';

export const OUTBOUND_EVENT_TYPES = [
  'appointment.confirmed',
  'appointment.failed',
  'appointment.rescheduled',
  'appointment.cancelled',
  'appointment.updated',
  'appointment.needs_attention',
] as const;
export type OutboundEventType = (typeof OUTBOUND_EVENT_TYPES)[number];

/** An upstream system's URL that receives a company's appointment changes (Standard Webhooks). */
export const outboundEndpoints = pgTable(
  'outbound_endpoints',
  {
    id: idColumn(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    /** The event types delivered; empty means every type. */
    eventTypes: text('event_types').array().$type<OutboundEventType[]>().notNull().default(sql`'{}'`),
    /** The `whsec_` signing secret, AES-GCM encrypted with SECRETS_ENCRYPTION_KEY. */
    secretEncrypted: text('secret_encrypted').notNull(),
    /**
     * The secret a rotation replaced, encrypted like the current one: it signs alongside it until
     * `previousSecretExpiresAt`, so receivers can switch at their own pace.
     */
    previousSecretEncrypted: text('previous_secret_encrypted'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    /** Failed attempts in a row (any delivery); reset by a success. */
    failureStreak: integer('failure_streak').notNull().default(0),
    failingSince: timestamp('failing_since', { withTimezone: true }),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    disabledReason: text('disabled_reason'),
    ...timestamps,
  },
  (t) => [
    index('outbound_endpoints_company_idx').on(t.companyId),
    // A previous secret without an end would sign forever.
    check(
      'outbound_endpoints_previous_secret_check',
      sql`(${t.previousSecretEncrypted} is null) = (${t.previousSecretExpiresAt} is null)`,
    ),
  ],
);

/**
 * The outbox: one row per appointment change, written by the same statement as the change. The
 * relay turns rows into deliveries; `seq` orders the changes of one appointment.
 */
export const outboundEvents = pgTable(
  'outbound_events',
  {
    /** The `webhook-id` every delivery and retry of this event carries. */
    id: idColumn(),
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    companyId: text('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    appointmentId: text('appointment_id')
      .notNull()
      .references(() => appointments.id, { onDelete: 'cascade' }),
    type: text('type').$type<OutboundEventType>().notNull(),
    /** The event's `data`: the appointment as the change left it (no personal data). */
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    relayedAt: timestamp('relayed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('outbound_events_seq_unique').on(t.seq),
    index('outbound_events_unrelayed_idx').on(t.seq).where(sql`${t.relayedAt} is null`),
    check('outbound_events_type_check', oneOf('type', OUTBOUND_EVENT_TYPES)),
  ],
);

export const OUTBOUND_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type OutboundDeliveryStatus = (typeof OUTBOUND_DELIVERY_STATUSES)[number];

/** One event for one endpoint. Deliveries of one (endpoint, appointment) go out in `event_seq` order. */
export const outboundDeliveries = pgTable(
  'outbound_deliveries',
  {
    id: idColumn(),
    eventId: text('event_id')
      .notNull()
      .references(() => outboundEvents.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => outboundEndpoints.id, { onDelete: 'cascade' }),
    appointmentId: text('appointment_id').notNull(),
    eventSeq: bigint('event_seq', { mode: 'number' }).notNull(),
    status: text('status').$type<OutboundDeliveryStatus>().notNull().default('pending'),
    /** Bumped whenever a new job takes the delivery over (chain advance, resend, re-enable). */
    round: integer('round').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('outbound_deliveries_event_endpoint_unique').on(t.eventId, t.endpointId),
    index('outbound_deliveries_chain_idx')
      .on(t.endpointId, t.appointmentId, t.eventSeq)
      .where(sql`${t.status} = 'pending'`),
    index('outbound_deliveries_endpoint_status_idx').on(t.endpointId, t.status, t.createdAt),
    index('outbound_deliveries_pending_idx').on(t.updatedAt).where(sql`${t.status} = 'pending'`),
    check('outbound_deliveries_status_check', oneOf('status', OUTBOUND_DELIVERY_STATUSES)),
  ],
);

/** Every HTTP attempt of a delivery: what the receiver answered and how long it took. */
export const outboundAttempts = pgTable(
  'outbound_attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => outboundDeliveries.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    /** The HTTP status; null when no answer came (refused, timeout, address refused). */
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    /** Why the attempt failed, when it did: `timeout`, `ECONNREFUSED`, `private address`, ... */
    error: text('error'),
    /** The first bytes of the receiver's answer. */
    responseExcerpt: text('response_excerpt'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('outbound_attempts_delivery_idx').on(t.deliveryId, t.attempt)],
);
