import { OUTBOUND_DELIVERY_STATUSES, OUTBOUND_EVENT_TYPES } from '@calgate/db';
import {
  createEndpoint,
  DEFAULT_OVERLAP_HOURS,
  deleteEndpoint,
  endpointView,
  listDeliveries,
  listEndpoints,
  loadEndpoint,
  MAX_OVERLAP_HOURS,
  resendDeliveries,
  rotateEndpointSecret,
  updateEndpoint,
} from '@calgate/domain';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { errorSchema } from '../v2/schemas.ts';

const eventType = z.enum(OUTBOUND_EVENT_TYPES);
const companyParams = z.object({ companyId: z.string().min(1).max(64) });
const endpointParams = companyParams.extend({ endpointId: z.string().min(1).max(64) });

const endpointSchema = z.object({
  id: z.string(),
  companyId: z.string(),
  url: z.string(),
  description: z.string(),
  events: z.array(eventType).describe('Empty: every event type'),
  enabled: z.boolean(),
  disabledAt: z.string().nullable(),
  disabledReason: z.string().nullable(),
  failureStreak: z.number(),
  previousSecretExpiresAt: z
    .string()
    .nullable()
    .describe('Until when the secret replaced by the last rotation signs too; null when none does'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const createBody = z
  .object({
    url: z.string().min(1).max(2000).describe('http(s); private and loopback addresses are refused'),
    events: z.array(eventType).max(OUTBOUND_EVENT_TYPES.length).optional(),
    description: z.string().max(500).optional(),
  })
  .strict();

const updateBody = createBody
  .partial()
  .extend({ enabled: z.boolean().optional().describe('true re-enables a disabled endpoint') })
  .strict();

const rotateBody = z
  .object({
    overlapHours: z
      .number()
      .int()
      .min(0)
      .max(MAX_OVERLAP_HOURS)
      .optional()
      .describe(
        `Hours the previous secret keeps signing too (default ${DEFAULT_OVERLAP_HOURS}); 0 stops it at once`,
      ),
  })
  .strict()
  // An empty body reaches validation as null.
  .nullish();

const deliverySchema = z.object({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  appointmentId: z.string(),
  status: z.enum(OUTBOUND_DELIVERY_STATUSES),
  attempts: z.array(
    z.object({
      attempt: z.number(),
      at: z.string(),
      statusCode: z.number().nullable(),
      latencyMs: z.number(),
      error: z.string().nullable(),
      responseExcerpt: z.string().nullable(),
    }),
  ),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});

const common = { tags: ['admin: webhook endpoints'], security: [{ operator: [] }] };
const errors = { 400: errorSchema, 401: errorSchema, 404: errorSchema };

/**
 * Operators register a company's outbound webhook endpoints, rotate their signing secrets,
 * re-enable disabled ones and resend failed deliveries. Part of the admin API (`adminRoutes`),
 * behind its operator auth.
 */
export async function webhookEndpointAdminRoutes(scope: FastifyInstance, deps: ApiDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const base = '/companies/:companyId/webhook-endpoints';

  app.get(
    base,
    {
      schema: {
        ...common,
        summary: "A company's webhook endpoints",
        params: companyParams,
        response: { 200: z.object({ data: z.array(endpointSchema) }), ...errors },
      },
    },
    async (request) => ({ data: await listEndpoints(deps, request.params.companyId) }),
  );

  app.post(
    base,
    {
      schema: {
        ...common,
        summary: 'Register a webhook endpoint (its signing secret is shown once)',
        description:
          'Events follow the Standard Webhooks specification: headers webhook-id, webhook-timestamp and ' +
          'webhook-signature (v1,<base64 HMAC-SHA256 of id.timestamp.body> keyed with the secret). ' +
          `Event types: ${OUTBOUND_EVENT_TYPES.join(', ')}; none given means all.`,
        params: companyParams,
        body: createBody,
        response: { 201: endpointSchema.extend({ secret: z.string() }), ...errors },
      },
    },
    async (request, reply) => {
      const { endpoint, secret } = await createEndpoint(deps, request.params.companyId, request.body);
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ ...endpoint, secret });
    },
  );

  app.get(
    `${base}/:endpointId`,
    {
      schema: {
        ...common,
        summary: 'One webhook endpoint',
        params: endpointParams,
        response: { 200: endpointSchema, ...errors },
      },
    },
    async (request) =>
      endpointView(await loadEndpoint(deps, request.params.endpointId, request.params.companyId)),
  );

  app.patch(
    `${base}/:endpointId`,
    {
      schema: {
        ...common,
        summary: 'Change a webhook endpoint; `enabled: true` re-enables it and sends what waited, in order',
        params: endpointParams,
        body: updateBody,
        response: { 200: endpointSchema, ...errors },
      },
    },
    async (request) =>
      updateEndpoint(deps, request.params.endpointId, request.body, request.params.companyId),
  );

  app.delete(
    `${base}/:endpointId`,
    {
      schema: {
        ...common,
        summary: 'Remove a webhook endpoint with its deliveries',
        params: endpointParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await deleteEndpoint(deps, request.params.endpointId, request.params.companyId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    `${base}/:endpointId/rotate-secret`,
    {
      schema: {
        ...common,
        summary: 'A new signing secret (shown once); the previous one signs too for the overlap',
        description:
          'During the overlap every delivery carries two signatures in webhook-signature, ' +
          '"v1,<new> v1,<previous>", as Standard Webhooks allows: receivers accepting either switch at ' +
          'their own pace. Pending deliveries stay and go out signed with the new secret.',
        params: endpointParams,
        body: rotateBody,
        response: { 200: endpointSchema.extend({ secret: z.string() }), ...errors, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const { companyId, endpointId } = request.params;
      const { endpoint, secret } = await rotateEndpointSecret(
        deps,
        endpointId,
        { overlapHours: request.body?.overlapHours },
        companyId,
      );
      return reply.header('cache-control', 'no-store').send({ ...endpoint, secret });
    },
  );

  app.get(
    `${base}/:endpointId/deliveries`,
    {
      schema: {
        ...common,
        summary: "An endpoint's deliveries, newest first, with every attempt",
        params: endpointParams,
        querystring: z.object({
          status: z.enum(OUTBOUND_DELIVERY_STATUSES).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: { 200: z.object({ data: z.array(deliverySchema) }), ...errors },
      },
    },
    async (request) => {
      const { companyId, endpointId } = request.params;
      await loadEndpoint(deps, endpointId, companyId);
      return { data: await listDeliveries(deps, endpointId, request.query) };
    },
  );

  app.post(
    `${base}/:endpointId/resend`,
    {
      schema: {
        ...common,
        summary: 'Send failed deliveries again (one, or every failed one of the endpoint)',
        params: endpointParams,
        body: z
          .object({ deliveryId: z.string().min(1).max(64).optional() })
          .strict()
          // An empty body reaches validation as null.
          .nullish(),
        response: { 202: z.object({ resent: z.array(z.string()) }), ...errors, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const { companyId, endpointId } = request.params;
      await loadEndpoint(deps, endpointId, companyId);
      const resent = await resendDeliveries(deps, { endpointId, deliveryId: request.body?.deliveryId });
      return reply.status(202).send({ resent });
    },
  );
}
