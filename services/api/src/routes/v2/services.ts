import { getAvailability, listServices } from '@calgate/domain';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
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
    async (request) =>
      getAvailability(deps, request.company, { serviceId: request.params.serviceId, ...request.query }),
  );
}
