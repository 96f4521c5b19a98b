import { getAvailability, listServices, readWindow } from '@calgate/domain';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { assertWithinHorizon } from './horizon.ts';
import { availabilityQuerySchema, availabilitySchema, errorSchema, serviceSchema } from './schemas.ts';

/** The company's services and their free slots. */
export async function serviceRoutes(scope: FastifyInstance, deps: ApiDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/services',
    {
      schema: {
        tags: ['services'],
        summary: "The company's services (simple and composite, with segments and staff)",
        security: [{ bearer: [] }],
        response: { 200: z.object({ services: z.array(serviceSchema) }), 401: errorSchema },
      },
    },
    async (request) => {
      const services = await listServices(deps.db, request.company.id);
      return {
        services: services.map((service) => ({
          id: service.id,
          name: service.name,
          description: service.description,
          kind: service.kind,
          durationMinutes: service.totalMinutes,
          preferSameStaff: service.preferSameStaff,
          segments: service.segments.map((segment) => ({
            id: segment.id,
            position: segment.position,
            name: segment.name,
            durationMinutes: segment.durationMinutes,
            pauseAfterMinutes: segment.pauseAfterMinutes,
            staff: segment.options.map((option) => ({ id: option.staffId, name: option.staffName })),
          })),
        })),
      };
    },
  );

  app.get(
    '/services/:serviceId/availability',
    {
      schema: {
        tags: ['services'],
        summary: 'Free slots of a service, with the staff free at each, in the requested time zone',
        security: [{ bearer: [] }],
        params: z.object({ serviceId: z.string().min(1).max(64) }),
        querystring: availabilityQuerySchema,
        response: {
          200: availabilitySchema,
          400: errorSchema,
          401: errorSchema,
          404: errorSchema,
          429: errorSchema,
        },
      },
    },
    async (request, reply) => {
      assertWithinHorizon(deps, readWindow(request.query).end, 'end');
      const view = await getAvailability(deps, request.company, {
        serviceId: request.params.serviceId,
        ...request.query,
      });
      // An answer reused by getAvailability is sent as the text it was serialised to before.
      reply.serializer(serializeOnce);
      return view;
    },
  );
}

const serialized = new WeakMap<object, string>();
function serializeOnce(payload: unknown): string {
  if (payload === null || typeof payload !== 'object') return JSON.stringify(payload);
  let json = serialized.get(payload);
  if (json === undefined) {
    json = JSON.stringify(payload);
    serialized.set(payload, json);
  }
  return json;
}
