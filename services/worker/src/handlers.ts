import {
  failBookSegment,
  failCancelBooking,
  failCompensate,
  failCreateBooking,
  failRescheduleBooking,
  processBookSegment,
  processCancelBooking,
  processCompensate,
  processCreateBooking,
  processFinalize,
  processRescheduleBooking,
  sweepStuckAppointments,
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
    'maintenance.sweep': {
      process: () => sweepStuckAppointments(deps),
    },
  };
}
