import {
  companyIds,
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
  processRescheduleBooking,
  processWebhook,
  reconcileBookings,
  sweepOutboundDeliveries,
  sweepStuckAppointments,
  sweepWebhookInbox,
  syncEventTypes,
} from '@calgate/domain';
import type { JobHandlers } from '@calgate/jobs';
import type { WorkerDeps } from './deps.ts';

/** The worker's handler map, typed against the job catalog. */
export function createHandlers(deps: WorkerDeps): JobHandlers {
  return {
    'booking.create': {
      process: (payload, context) => processCreateBooking(deps, payload, context),
      onFinalFailure: (payload, error, context) => failCreateBooking(deps, payload, error, context),
    },
    'booking.reschedule': {
      process: (payload, context) => processRescheduleBooking(deps, payload, context),
      onFinalFailure: (payload, error) => failRescheduleBooking(deps, payload, error),
    },
    'booking.cancel': {
      process: (payload, context) => processCancelBooking(deps, payload, context),
      onFinalFailure: (payload, error) => failCancelBooking(deps, payload, error),
    },
    'composite.book-segment': {
      process: (payload, context) => processBookSegment(deps, payload, context),
      onFinalFailure: (payload, error) => failBookSegment(deps, payload, error),
    },
    'composite.finalize': {
      process: (payload) => processFinalize(deps, payload),
    },
    'composite.compensate': {
      process: (payload, context) => processCompensate(deps, payload, context),
      onFinalFailure: (payload, error) => failCompensate(deps, payload, error),
    },
    'webhook.process': {
      process: (payload) => processWebhook(deps, payload),
      onFinalFailure: (payload, error) => failWebhook(deps, payload, error),
    },
    'sync.event-types': {
      process: (payload) => syncEventTypes(deps, payload.companyId),
    },
    'sync.reconcile': {
      process: (payload) => reconcileBookings(deps, payload.companyId),
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
        // Deliveries younger than one sweep are most likely still on their way through the queue.
        webhooks: await sweepWebhookInbox(deps, {
          graceMs: Math.min(10_000, deps.config.worker.sweepIntervalMs),
        }),
      }),
    },
  };
}
