import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SandboxControl } from './control.ts';
import { SandboxHttpError } from './errors.ts';
import { SANDBOX_OPERATIONS } from './types.ts';

const faultSchema = z.strictObject({
  operation: z.enum([...SANDBOX_OPERATIONS, '*']),
  status: z.number().int().min(100).max(599).optional(),
  body: z.unknown().optional(),
  count: z.number().int().positive().optional(),
  probability: z.number().min(0).max(1).optional(),
  skip: z.number().int().min(0).optional(),
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  timeout: z.boolean().optional(),
  afterEffect: z.boolean().optional(),
  headers: z.record(z.string().regex(/^[a-z0-9-]+$/), z.string().max(200)).optional(),
});

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    throw new SandboxHttpError(400, {
      error: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
  }
  return result.data;
}

/** The control API under /_sandbox: not rate limited, not logged, no auth (loopback tests only). */
export function controlRoutes(app: FastifyInstance, control: SandboxControl): void {
  app.post('/_sandbox/reset', async () => {
    control.reset();
    return { ok: true };
  });
  app.post('/_sandbox/faults', async (request) => {
    control.injectFault(parse(faultSchema, request.body));
    return { ok: true };
  });
  app.post('/_sandbox/random-seed', async (request) => {
    control.setRandomSeed(
      parse(
        z.object({
          seed: z
            .number()
            .int()
            .min(0)
            .max(2 ** 32 - 1),
        }),
        request.body,
      ).seed,
    );
    return { ok: true };
  });
  app.delete('/_sandbox/faults', async () => {
    control.clearFaults();
    return { ok: true };
  });
  app.post('/_sandbox/latency', async (request) => {
    control.setLatency(parse(z.object({ ms: z.number().int().min(0).max(600_000) }), request.body).ms);
    return { ok: true };
  });
  app.post('/_sandbox/rate-limit', async (request) => {
    const body = parse(
      z.object({
        perMinute: z.number().int().positive(),
        blockSeconds: z.number().int().positive().optional(),
      }),
      request.body,
    );
    control.setRateLimit(body.perMinute, body.blockSeconds);
    return { ok: true };
  });
  app.post('/_sandbox/webhook-drop', async (request) => {
    control.setWebhookDrop(
      parse(
        z.object({
          count: z.number().int().min(0).optional(),
          probability: z.number().min(0).max(1).optional(),
        }),
        request.body,
      ),
    );
    return { ok: true };
  });
  app.get('/_sandbox/state', async () => control.state());
  app.get('/_sandbox/requests', async (request) => {
    const { since } = parse(z.object({ since: z.coerce.number().int().min(0).optional() }), request.query);
    return { requests: control.requests(since) };
  });
  app.post('/_sandbox/flush-webhooks', async () => {
    await control.flushWebhooks();
    return { ok: true };
  });
  const attendee = z.object({
    name: z.string().min(1),
    email: z.string().email(),
    timeZone: z.string().min(1),
    phoneNumber: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/)
      .optional(),
  });
  app.post('/_sandbox/bookings', async (request) => {
    const body = parse(
      z.object({
        eventTypeId: z.number().int().positive(),
        start: z.string(),
        attendee,
        metadata: z.record(z.string(), z.string()).optional(),
      }),
      request.body,
    );
    return { booking: control.createBookingDirect(body) };
  });
  app.post('/_sandbox/bookings/:uid/cancel', async (request) => {
    const { uid } = request.params as { uid: string };
    const body = parse(z.object({ reason: z.string().default('Cancelled in Cal.com') }), request.body);
    return { booking: control.cancelBookingDirect(uid, body.reason) };
  });
  app.post('/_sandbox/bookings/:uid/confirm', async (request) => {
    const { uid } = request.params as { uid: string };
    return { booking: control.confirmBookingDirect(uid) };
  });
  app.post('/_sandbox/bookings/:uid/decline', async (request) => {
    const { uid } = request.params as { uid: string };
    const body = parse(z.object({ reason: z.string().default('Declined by the host') }), request.body);
    return { booking: control.declineBookingDirect(uid, body.reason) };
  });
  app.post('/_sandbox/bookings/:uid/reschedule', async (request) => {
    const { uid } = request.params as { uid: string };
    const body = parse(z.object({ start: z.string(), byHost: z.boolean().optional() }), request.body);
    return { booking: control.rescheduleBookingDirect(uid, body.start, body.byHost) };
  });
  app.delete('/_sandbox/event-types/:id', async (request) => {
    control.deleteEventType(Number((request.params as { id: string }).id));
    return { ok: true };
  });
  app.post('/_sandbox/event-types', async (request) => {
    const body = parse(
      z.object({
        id: z.number().int().positive(),
        ownerId: z.number().int().positive(),
        hostIds: z.array(z.number().int().positive()).optional(),
        title: z.string().min(1),
        slug: z.string().min(1),
        lengthInMinutes: z.number().int().positive(),
        slotIntervalMinutes: z.number().int().positive().optional(),
        confirmationPolicy: z
          .object({
            type: z.enum(['always', 'time']),
            noticeThreshold: z
              .object({ unit: z.enum(['minutes', 'hours']), count: z.number().int().positive() })
              .optional(),
            blockUnconfirmedBookingsInBooker: z.boolean(),
          })
          .optional(),
      }),
      request.body,
    );
    control.addEventType(body);
    return { ok: true };
  });
  app.post('/_sandbox/teams', async (request) => {
    const body = parse(
      z.object({
        id: z.number().int().positive(),
        name: z.string().min(1),
        slug: z.string().min(1),
        memberIds: z.array(z.number().int().positive()).min(1),
      }),
      request.body,
    );
    control.addTeam(body);
    return { ok: true };
  });
}
