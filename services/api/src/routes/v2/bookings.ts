import {
  type AppointmentView,
  type BookingAccepted,
  completeIdempotencyKey,
  getAppointmentView,
  loadAppointment,
  parsePreferWait,
  requestBooking,
  requestCancel,
  requestReschedule,
  rescheduleTarget,
  settleKeyInBackground,
} from '@calgate/domain';
import { type ErrorCode, httpStatusFor } from '@calgate/errors';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../../deps.ts';
import { type ErrorBody, errorBody } from '../../plugins/error-handler.ts';
import { createWaitSlots } from '../../wait-slots.ts';
import { assertWithinHorizon } from './horizon.ts';
import { idempotencyOf } from './idempotency-header.ts';
import {
  appointmentSchema,
  bookingBodySchema,
  bookingHeadersSchema,
  bookingParamsSchema,
  cancelBodySchema,
  errorSchema,
  rescheduleBodySchema,
} from './schemas.ts';

const common = { tags: ['bookings'], security: [{ bearer: [] }] };
const errors = {
  400: errorSchema,
  401: errorSchema,
  404: errorSchema,
  409: errorSchema,
  410: errorSchema,
  422: errorSchema,
};

/** The status and body a caller should see for a create, given the appointment's state now. */
function createOutcome(view: AppointmentView): { status: number; body: AppointmentView | ErrorBody } {
  if (view.status === 'failed' && view.failure !== null) {
    const code = view.failure.code as ErrorCode;
    const message =
      code === 'SLOT_UNAVAILABLE' ? 'The requested slot is no longer available' : view.failure.reason || code;
    return {
      status: safeStatus(code),
      body: errorBody(code, message, { appointmentId: view.id, alternatives: view.failure.alternatives }),
    };
  }
  // `requested`: made in Cal.com, waiting for the host's answer; not final, so 202 like `pending`.
  const status =
    view.status === 'confirmed' ? 201 : ['pending', 'requested'].includes(view.status) ? 202 : 200;
  return { status, body: view };
}

/** Failure codes come from our closed set; anything else recorded is reported as an upstream error. */
function safeStatus(code: string): number {
  return (httpStatusFor(code as ErrorCode) as number | undefined) ?? 502;
}

/**
 * A create's answer: after `Prefer: wait` (if asked) the outcome, else what the intake wrote; the
 * key is completed before the answer leaves, so a retry after it always replays.
 */
async function createAnswer(
  deps: ApiDeps,
  waitSlots: ReturnType<typeof createWaitSlots>,
  companyId: string,
  accepted: BookingAccepted,
  idempotency: { key: string } | undefined,
  prefer: string | undefined,
): Promise<{ view: AppointmentView; outcome: ReturnType<typeof createOutcome>; waitMs: number }> {
  const asked = parsePreferWait(prefer);
  const waited =
    asked > 0 &&
    (await waitSlots.hold(companyId, () =>
      deps.waiter.waitFor(
        accepted.appointmentId,
        // The worker's notice carries the status it committed: woken without reading the row.
        async (status) =>
          (status ?? (await loadAppointment(deps.db, companyId, accepted.appointmentId)).status) !==
          'pending',
        asked,
      ),
    ));
  const waitMs = waited ? asked : 0;
  // Without a wait the answer is what this request just wrote: no read-back.
  const view =
    waitMs === 0 && accepted.view !== undefined
      ? accepted.view
      : await getAppointmentView(deps.db, companyId, accepted.appointmentId);
  const outcome = createOutcome(view);
  if (idempotency !== undefined && !accepted.replayed) {
    await completeIdempotencyKey(deps.db, companyId, idempotency.key, outcome.status);
  }
  return { view, outcome, waitMs };
}

/** Book, read, reschedule and cancel appointments. */
export async function bookingRoutes(scope: FastifyInstance, deps: ApiDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const waitSlots = createWaitSlots(deps.config.limits.waitersPerCompany);

  app.post(
    '/bookings',
    {
      schema: {
        ...common,
        summary: 'Book an appointment (asynchronous; Prefer: wait=N for the outcome)',
        description:
          'Answers 202 with the pending appointment and a Location, or with `Prefer: wait=N` (N <= 30) the ' +
          'outcome when it arrives in time: 201 confirmed, 202 requested (the event type needs the host to ' +
          'confirm in Cal.com), 409 SLOT_UNAVAILABLE with up to 3 alternatives, ' +
          'or another error. Send an Idempotency-Key: the same key and body replays the appointment it made.',
        headers: bookingHeadersSchema,
        body: bookingBodySchema,
        response: { 201: appointmentSchema, 202: appointmentSchema, ...errors, 429: errorSchema },
      },
    },
    async (request, reply) => {
      const companyId = request.company.id;
      const idempotency = idempotencyOf(request.headers['idempotency-key'], '/api/v2/bookings', request.body);
      assertWithinHorizon(deps, request.body.start, 'start');
      const accepted = await requestBooking(deps, request.company, request.body, idempotency);
      if (accepted.replayed) reply.header('idempotent-replayed', 'true');
      try {
        const answer = await createAnswer(
          deps,
          waitSlots,
          companyId,
          accepted,
          idempotency,
          request.headers.prefer,
        );
        reply.header('location', `/api/v2/bookings/${answer.view.id}`);
        if (answer.waitMs > 0) reply.header('preference-applied', `wait=${Math.round(answer.waitMs / 1000)}`);
        return reply.status(answer.outcome.status).send(answer.outcome.body);
      } catch (error) {
        // A step after the intake failed: this request is over, so its key must not stay in flight.
        if (idempotency !== undefined && !accepted.replayed) {
          void settleKeyInBackground(deps, companyId, idempotency.key, accepted.appointmentId);
        }
        throw error;
      }
    },
  );

  app.get(
    '/bookings/:id',
    {
      schema: {
        ...common,
        summary: 'An appointment: status, times, staff, Cal.com uid, failure reason, history',
        params: bookingParamsSchema,
        response: { 200: appointmentSchema, 401: errorSchema, 404: errorSchema },
      },
    },
    async (request) => getAppointmentView(deps.db, request.company.id, request.params.id),
  );

  app.patch(
    '/bookings/:id',
    {
      schema: {
        ...common,
        summary: 'Reschedule (asynchronous; Prefer: wait=N for the outcome)',
        description:
          'A failed reschedule keeps the original appointment. 409 SLOT_UNAVAILABLE carries alternatives.',
        params: bookingParamsSchema,
        headers: bookingHeadersSchema,
        body: rescheduleBodySchema,
        response: { 200: appointmentSchema, 202: appointmentSchema, ...errors },
      },
    },
    async (request, reply) => {
      const companyId = request.company.id;
      const id = request.params.id;
      assertWithinHorizon(deps, request.body.start, 'start');
      const accepted = await requestReschedule(deps, request.company, id, request.body);
      const waitMs = parsePreferWait(request.headers.prefer);
      let outcome: 'rescheduled' | 'reschedule_failed' | undefined;
      if (accepted.kind === 'accepted' && accepted.requestId !== undefined) {
        const requestId = accepted.requestId;
        const settled = async () => {
          outcome = (await rescheduleTarget(deps, id, requestId))?.outcome;
          return outcome !== undefined;
        };
        const waited =
          waitMs > 0 && (await waitSlots.hold(companyId, () => deps.waiter.waitFor(id, settled, waitMs)));
        if (waited) reply.header('preference-applied', `wait=${Math.round(waitMs / 1000)}`);
        else await settled();
      }
      const view = await getAppointmentView(deps.db, companyId, id);
      reply.header('location', `/api/v2/bookings/${id}`);
      if (outcome === 'reschedule_failed') {
        const failure = [...view.history].reverse().find((h) => h.event === 'reschedule_failed');
        const data = (failure?.data ?? {}) as { code?: string; message?: string; alternatives?: unknown[] };
        const code = (data.code ?? 'INTERNAL') as ErrorCode;
        return reply.status(safeStatus(code)).send(
          errorBody(
            code,
            code === 'SLOT_UNAVAILABLE'
              ? 'The requested slot is no longer available'
              : (data.message ?? code),
            {
              appointmentId: id,
              alternatives: data.alternatives ?? [],
              unchanged: true,
            },
          ),
        );
      }
      return reply.status(accepted.kind === 'noop' || outcome === 'rescheduled' ? 200 : 202).send(view);
    },
  );

  app.delete(
    '/bookings/:id',
    {
      schema: {
        ...common,
        summary: 'Cancel (asynchronous; Prefer: wait=N for the outcome; idempotent)',
        params: bookingParamsSchema,
        headers: bookingHeadersSchema,
        body: cancelBodySchema,
        response: { 200: appointmentSchema, 202: appointmentSchema, ...errors },
      },
    },
    async (request, reply) => {
      const companyId = request.company.id;
      const id = request.params.id;
      const accepted = await requestCancel(deps, companyId, id, request.body ?? {});
      const waitMs = parsePreferWait(request.headers.prefer);
      if (accepted.kind === 'accepted' && waitMs > 0) {
        const waited = await waitSlots.hold(companyId, () =>
          deps.waiter.waitFor(
            id,
            async (status) => {
              if (status !== undefined) return status !== 'cancelling';
              // A cancel that failed for good stays cancelling, flagged: the caller hears it now.
              const now = await loadAppointment(deps.db, companyId, id);
              return now.status !== 'cancelling' || now.needsAttention;
            },
            waitMs,
          ),
        );
        // As POST does: a caller can tell a 202 it waited for from one it did not (the waiter cap).
        if (waited) reply.header('preference-applied', `wait=${Math.round(waitMs / 1000)}`);
      }
      const view = await getAppointmentView(deps.db, companyId, id);
      reply.header('location', `/api/v2/bookings/${id}`);
      return reply.status(view.status === 'cancelled' ? 200 : 202).send(view);
    },
  );
}
