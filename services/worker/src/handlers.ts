import { appointments } from '@calgate/db';
import {
  companyIds,
  drainWebhookSpill,
  failBookSegment,
  failCancelBooking,
  failCompensate,
  failCreateBooking,
  failDelivery,
  failRescheduleBooking,
  failWebhook,
  processBookSegment,
  processCancelBooking,
  processCompensate,
  processCreateBooking,
  processDelivery,
  processFinalize,
  processRelay,
  processReleaseHold,
  processRescheduleBooking,
  processWebhook,
  purgeExpired,
  reconcileBookings,
  sweepExpiredHolds,
  sweepOutboundDeliveries,
  sweepStuckAppointments,
  sweepWebhookInbox,
  syncEventTypes,
} from '@calgate/domain';
import { errorLogFields, type JobHandlers } from '@calgate/jobs';
import { eq } from 'drizzle-orm';
import type { WorkerDeps } from './deps.ts';

/**
 * The worker's handler map, typed against the job catalog. Besides calling the domain it writes
 * the one info line an operator reads per outcome ("booking confirmed", "booking failed", ...);
 * every line carries the job id, queue, attempt and appointment id bound at the job boundary.
 */
export function createHandlers(deps: WorkerDeps): JobHandlers {
  const log = deps.logger;
  const failure = (error: unknown) => errorLogFields(error).fields;
  return {
    'booking.create': {
      process: async (payload, context) => {
        const result = await processCreateBooking(deps, payload, context);
        if (result === 'confirmed' || result === 'confirmed-by-webhook') log.info('booking confirmed');
        else if (result === 'requested' || result === 'requested-by-webhook') {
          log.info('booking made: waiting for the host to confirm it in Cal.com');
        } else if (result === 'rejected' || result === 'rejected-by-webhook') {
          log.info('booking declined by the host in Cal.com');
        } else if (result === 'cancelled-after-booking')
          log.info('booking cancelled while it was being made');
        return result;
      },
      onFinalFailure: async (payload, error, context) => {
        await failCreateBooking(deps, payload, error, context);
        // The last attempt may have found the booking in Cal.com and adopted it.
        const [row] = await deps.db
          .select({ status: appointments.status })
          .from(appointments)
          .where(eq(appointments.id, payload.appointmentId));
        if (row?.status === 'confirmed') log.info({ adopted: true }, 'booking confirmed');
        else if (row?.status === 'requested')
          log.info({ adopted: true }, 'booking made: waiting for the host');
        else log.info(failure(error), 'booking failed');
      },
    },
    'booking.reschedule': {
      process: async (payload, context) => {
        const result = await processRescheduleBooking(deps, payload, context);
        if (result === 'rescheduled') log.info('booking rescheduled');
        return result;
      },
      onFinalFailure: async (payload, error, context) => {
        const outcome = await failRescheduleBooking(deps, payload, error, context);
        if (outcome === 'failed')
          log.info(failure(error), 'reschedule failed: the original appointment stands');
      },
    },
    'booking.cancel': {
      process: async (payload, context) => {
        const result = await processCancelBooking(deps, payload, context);
        if (result === 'cancelled') log.info('booking cancelled');
        return result;
      },
      // The domain logs this one at error level: the booking may still stand in Cal.com.
      onFinalFailure: (payload, error) => failCancelBooking(deps, payload, error),
    },
    'composite.book-segment': {
      process: (payload, context) => processBookSegment(deps, payload, context),
      onFinalFailure: async (payload, error) => {
        const position = await failBookSegment(deps, payload, error);
        log.info({ segment: position + 1, ...failure(error) }, 'composite segment failed: compensating');
      },
    },
    'composite.finalize': {
      process: async (payload) => {
        const result = await processFinalize(deps, payload);
        if (result === 'confirmed') {
          log.info(
            payload.generation === 0 ? 'composite booking confirmed' : 'composite booking rescheduled',
          );
        } else if (result === 'released') log.info('composite booking released: cancelled while being made');
        return result;
      },
    },
    'composite.compensate': {
      process: async (payload, context) => {
        const cancelled = await processCompensate(deps, payload, context);
        log.info({ purpose: payload.purpose, cancelled }, 'compensation done');
        return cancelled;
      },
      // The domain logs an exhausted compensation at error level and flags the appointment.
      onFinalFailure: (payload, error) => failCompensate(deps, payload, error),
    },
    'hold.release': {
      process: (payload, context) => processReleaseHold(deps, payload, context),
    },
    'webhook.process': {
      // The domain writes the "webhook processed" line with what was applied.
      process: (payload) => processWebhook(deps, payload),
      onFinalFailure: (payload, error) => failWebhook(deps, payload, error),
    },
    'sync.event-types': {
      process: (payload) => syncEventTypes(deps, payload.companyId),
      onFinalFailure: async (payload, error) => {
        log.warn({ companyId: payload.companyId, ...failure(error) }, 'event-type sync failed');
      },
    },
    'sync.reconcile': {
      process: (payload) => reconcileBookings(deps, payload.companyId),
      onFinalFailure: async (payload, error) => {
        log.warn({ companyId: payload.companyId, ...failure(error) }, 'reconciliation failed');
      },
    },
    'sync.fan-out': {
      process: async (payload) => {
        const minutes =
          payload.kind === 'event-types'
            ? deps.config.sync.eventTypesEveryMinutes
            : deps.config.sync.reconcileEveryMinutes;
        const run = `r${Math.floor(Date.now() / (minutes * 60_000))}`;
        const ids = await companyIds(deps);
        for (const companyId of ids) {
          await deps.queues.enqueue(payload.kind === 'event-types' ? 'sync.event-types' : 'sync.reconcile', {
            companyId,
            run,
          });
        }
        return { companies: ids.length, run };
      },
    },
    'maintenance.retention': {
      process: () => purgeExpired(deps, deps.config.retention),
    },
    'outbound.relay': {
      process: () => processRelay(deps),
    },
    'outbound.deliver': {
      process: (payload, context) => processDelivery(deps, payload, context),
      onFinalFailure: (payload, error) => failDelivery(deps, payload, error),
    },
    'maintenance.sweep': {
      process: async () => ({
        outbound: await sweepOutboundDeliveries(deps),
        appointments: await sweepStuckAppointments(deps),
        // Deliveries kept in Redis while PostgreSQL was away, first: then enqueued with the rest.
        spilledWebhooks: await drainWebhookSpill(deps),
        // Deliveries younger than one sweep are most likely still on their way through the queue.
        webhooks: await sweepWebhookInbox(deps, {
          graceMs: Math.min(10_000, deps.config.worker.sweepIntervalMs),
        }),
        holds: await sweepExpiredHolds(deps),
      }),
    },
  };
}
