import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/** Every queue the gateway uses. Bull Board shows each of them. */
export const QUEUE_NAMES = ['bookings', 'composite', 'compensation', 'webhooks', 'sync', 'outbound'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** The backoff type of outbound deliveries: the delays of the configured schedule. */
export const OUTBOUND_BACKOFF = 'outbound-schedule';

const appointmentRef = z.object({ appointmentId: z.string().startsWith('apt_') });

interface JobDefinition<S extends z.ZodType> {
  queue: QueueName;
  schema: S;
  /** Deterministic id, so a second enqueue of the same work is a no-op. Never contains ':'. */
  jobId: (payload: z.infer<S>) => string;
  /** Whether failures are retried (CALCOM_MAX_RETRIES times, with backoff; false: one attempt). */
  retried: boolean;
  options?: JobsOptions;
}

function defineJob<S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> {
  return definition;
}

/**
 * The one contract between intake and worker: job name -> queue, payload schema, id and options.
 * `enqueue` parses payloads with these schemas; workers parse `job.data` again before use.
 */
export const jobCatalog = {
  'booking.create': defineJob({
    queue: 'bookings',
    /**
     * `companyId`, when the intake sends it, lets the job take its Cal.com budget share while it
     * reads the appointment (the job still books only as the appointment's own company).
     * `holdId`, the hold the booking used: its Cal.com reservations are released once the job is
     * done with the appointment (without it, they go at the hold's expiry).
     */
    schema: appointmentRef.extend({
      companyId: z.string().startsWith('cmp_').optional(),
      holdId: z.string().startsWith('hld_').optional(),
    }),
    jobId: (p) => `booking-create-${p.appointmentId}`,
    retried: true,
  }),
  'booking.reschedule': defineJob({
    queue: 'bookings',
    schema: appointmentRef.extend({ requestId: z.string().min(1).max(100) }),
    jobId: (p) => `booking-reschedule-${p.appointmentId}-${p.requestId}`,
    retried: true,
  }),
  'booking.cancel': defineJob({
    queue: 'bookings',
    schema: appointmentRef,
    jobId: (p) => `booking-cancel-${p.appointmentId}`,
    retried: true,
  }),
  'composite.book-segment': defineJob({
    queue: 'composite',
    schema: appointmentRef.extend({ generation: z.number().int().min(0), position: z.number().int().min(0) }),
    jobId: (p) => `composite-segment-${p.appointmentId}-g${p.generation}-p${p.position}`,
    retried: true,
  }),
  'composite.finalize': defineJob({
    queue: 'composite',
    schema: appointmentRef.extend({ generation: z.number().int().min(0) }),
    jobId: (p) => `composite-finalize-${p.appointmentId}-g${p.generation}`,
    retried: true,
  }),
  /**
   * Cancels every Cal.com booking of one generation of a composite appointment, found both from
   * Postgres and by a metadata lookup in Cal.com, then records the outcome: `failed` (a segment
   * failed), `cancelled` (the customer cancelled) or `replaced` (a reschedule succeeded).
   */
  'composite.compensate': defineJob({
    queue: 'compensation',
    schema: appointmentRef.extend({
      generation: z.number().int().min(0),
      purpose: z.enum(['failed', 'cancelled', 'replaced']),
      /** Why the segment failed (`failed`): what a failed reschedule reports. @defaultValue SLOT_UNAVAILABLE */
      code: z
        .string()
        .regex(/^[A-Z_]{1,40}$/)
        .optional(),
      /** Distinguishes a later compensation of the same generation from one that already ran. */
      round: z
        .string()
        .regex(/^[a-z0-9-]{1,20}$/)
        .optional(),
    }),
    jobId: (p) =>
      `composite-compensate-${p.appointmentId}-g${p.generation}-${p.purpose}${p.round === undefined ? '' : `-${p.round}`}`,
    retried: true,
    options: { attempts: 25, backoff: { type: 'capped-exponential', delay: 1_000 } },
  }),
  /**
   * Ends a slot hold: `expired` runs delayed until the hold's expiry (a consumed hold stays
   * consumed, only its reservations go), `released` at once after a DELETE whose own release of
   * the Cal.com reservations did not finish, `used` once the booking that consumed the hold is no
   * longer pending (booked, failed, cancelled). Deletes the hold's reservations in Cal.com.
   */
  'hold.release': defineJob({
    queue: 'bookings',
    schema: z.object({
      holdId: z.string().startsWith('hld_'),
      reason: z.enum(['expired', 'released', 'used']),
    }),
    jobId: (p) => `hold-release-${p.holdId}-${p.reason}`,
    retried: true,
  }),
  /** Applies one stored Cal.com webhook delivery (the inbox row). */
  'webhook.process': defineJob({
    queue: 'webhooks',
    schema: z.object({ inboxId: z.string().startsWith('whk_') }),
    jobId: (p) => `webhook-${p.inboxId}`,
    retried: true,
  }),
  /** Imports one company's Cal.com event types into services and mappings; records drift. */
  'sync.event-types': defineJob({
    queue: 'sync',
    schema: z.object({ companyId: z.string().min(1), run: z.string().regex(/^[a-z0-9-]{1,40}$/) }),
    jobId: (p) => `sync-event-types-${p.companyId}-${p.run}`,
    retried: true,
  }),
  /** Pulls one company's bookings changed since the last run and applies them like webhooks. */
  'sync.reconcile': defineJob({
    queue: 'sync',
    schema: z.object({ companyId: z.string().min(1), run: z.string().regex(/^[a-z0-9-]{1,40}$/) }),
    jobId: (p) => `sync-reconcile-${p.companyId}-${p.run}`,
    retried: true,
  }),
  /** Scheduled: enqueues `sync.event-types` or `sync.reconcile` for every company. */
  'sync.fan-out': defineJob({
    queue: 'sync',
    schema: z.object({ kind: z.enum(['event-types', 'reconcile']) }),
    jobId: (p) => `sync-fan-out-${p.kind}`,
    retried: false,
  }),
  /** Scheduled daily: deletes finished rows past their retention (RETENTION_*). */
  'maintenance.retention': defineJob({
    queue: 'sync',
    schema: z.object({}),
    jobId: () => 'maintenance-retention',
    retried: false,
  }),
  /**
   * Scheduled: moves new events from the outbox to deliveries, one per subscribed endpoint, and
   * enqueues them. Finished runs are not kept (one a second would crowd the dashboard).
   */
  'outbound.relay': defineJob({
    queue: 'outbound',
    schema: z.object({}),
    jobId: () => 'outbound-relay',
    retried: false,
    options: { removeOnComplete: true, removeOnFail: { count: 100 } },
  }),
  /**
   * Sends one event to one endpoint (Standard Webhooks). Retried on the outbound schedule
   * (OUTBOUND_WEBHOOKS_RETRY_SCHEDULE); `round` changes when a resend or a re-enable takes over.
   */
  'outbound.deliver': defineJob({
    queue: 'outbound',
    schema: z.object({ deliveryId: z.string().startsWith('dlv_'), round: z.number().int().min(0) }),
    jobId: (p) => `outbound-deliver-${p.deliveryId}-r${p.round}`,
    retried: true,
    options: { backoff: { type: OUTBOUND_BACKOFF } },
  }),
  'maintenance.sweep': defineJob({
    queue: 'sync',
    schema: z.object({}),
    jobId: () => 'maintenance-sweep',
    retried: false,
  }),
} as const;

export type JobCatalog = typeof jobCatalog;
export type JobName = keyof JobCatalog;
export type JobPayload<N extends JobName> = z.infer<JobCatalog[N]['schema']>;

/** Parses a payload with its job's schema (enqueue side and worker side alike). */
export function parseJobPayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  return jobCatalog[name].schema.parse(data) as JobPayload<N>;
}

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobCatalog, name);
}
