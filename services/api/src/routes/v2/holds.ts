import { createHold, getHoldView, releaseHold } from '@calgate/domain';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../../deps.ts';
import { holdBodySchema, holdHeadersSchema, holdParamsSchema, holdSchema } from './hold-schemas.ts';
import { assertWithinHorizon } from './horizon.ts';
import { idempotencyOf } from './idempotency-header.ts';
import { errorSchema } from './schemas.ts';

const common = { tags: ['holds'], security: [{ bearer: [] }] };

/** Hold a slot while the caller confirms, read it, release it. */
export async function holdRoutes(scope: FastifyInstance, deps: ApiDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.post(
    '/holds',
    {
      schema: {
        ...common,
        summary: 'Hold a slot for a few minutes (reserved in Cal.com too); book it with holdId',
        description:
          'Answers 201 with the hold and its expiresAt. Until then no other caller can book the slot ' +
          '(409 SLOT_HELD) and availability does not offer it; POST /api/v2/bookings with holdId books ' +
          'exactly this slot. 409 SLOT_UNAVAILABLE when the slot is not free, SLOT_HELD when someone ' +
          'else holds it. Send an Idempotency-Key: the same key and body replays the hold it made ' +
          '(Idempotent-Replayed: true), as it stands now.',
        headers: holdHeadersSchema,
        body: holdBodySchema,
        response: {
          201: holdSchema,
          400: errorSchema,
          401: errorSchema,
          404: errorSchema,
          409: errorSchema,
          422: errorSchema,
          429: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const idempotency = idempotencyOf(request.headers['idempotency-key'], '/api/v2/holds', request.body);
      assertWithinHorizon(deps, request.body.start, 'start');
      const { hold, replayed } = await createHold(
        deps,
        request.company,
        request.body,
        deps.config.holds,
        idempotency,
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      reply.header('location', `/api/v2/holds/${hold.id}`);
      return reply.status(201).send(hold);
    },
  );

  app.get(
    '/holds/:id',
    {
      schema: {
        ...common,
        summary: 'A hold: status, slot, segments with their Cal.com reservations, expiry',
        params: holdParamsSchema,
        response: { 200: holdSchema, 401: errorSchema, 404: errorSchema },
      },
    },
    async (request) => getHoldView(deps.db, request.company.id, request.params.id),
  );

  app.delete(
    '/holds/:id',
    {
      schema: {
        ...common,
        summary: 'Release a hold (its Cal.com reservations are deleted); idempotent',
        params: holdParamsSchema,
        response: { 200: holdSchema, 401: errorSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request) => releaseHold(deps, request.company, request.params.id),
  );
}
