import {
  applyCatalog,
  createAdminService,
  createStaff,
  deleteMapping,
  formatCatalogChanges,
  getAdminService,
  listAdminServices,
  listStaff,
  parseCatalog,
  saveMapping,
  updateAdminService,
  updateStaff,
} from '@calgate/domain';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { errorSchema } from '../v2/schemas.ts';
import {
  adminServiceSchema,
  catalogChangeSchema,
  companyParams,
  createServiceSchema,
  createStaffSchema,
  id,
  mappingSchema,
  saveMappingSchema,
  staffSchema,
  updateServiceSchema,
  updateStaffSchema,
} from './schemas.ts';

const security = [{ operator: [] }];
const errors = { 400: errorSchema, 401: errorSchema, 404: errorSchema, 409: errorSchema };
const staffParams = companyParams.extend({ staffId: id('stf') });
const serviceParams = companyParams.extend({ serviceId: id('svc') });

/** A company's staff, services (with segments) and mappings, one by one or as a whole catalog. */
export async function catalogAdminRoutes(scope: FastifyInstance, deps: ApiDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin'];

  app.post(
    '/companies/:companyId/staff',
    {
      schema: {
        tags,
        summary: 'Add a staff member (the Cal.com user booked, time zone, name, email)',
        security,
        params: companyParams,
        body: createStaffSchema,
        response: { 201: staffSchema, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createStaff(deps, request.params.companyId, request.body)),
  );

  app.get(
    '/companies/:companyId/staff',
    {
      schema: {
        tags,
        summary: "The company's staff, active and deactivated",
        security,
        params: companyParams,
        response: { 200: z.object({ staff: z.array(staffSchema) }), ...errors },
      },
    },
    async (request) => ({ staff: await listStaff(deps, request.params.companyId) }),
  );

  app.patch(
    '/companies/:companyId/staff/:staffId',
    {
      schema: {
        tags,
        summary: 'Change a staff member (fields left out stay as they are)',
        security,
        params: staffParams,
        body: updateStaffSchema,
        response: { 200: staffSchema, ...errors },
      },
    },
    async (request) => updateStaff(deps, request.params.companyId, request.params.staffId, request.body),
  );

  app.delete(
    '/companies/:companyId/staff/:staffId',
    {
      schema: {
        tags,
        summary:
          'Deactivate a staff member: no new bookings or availability; existing appointments are unaffected',
        security,
        params: staffParams,
        response: { 200: staffSchema, ...errors },
      },
    },
    async (request) => updateStaff(deps, request.params.companyId, request.params.staffId, { active: false }),
  );

  app.post(
    '/companies/:companyId/services',
    {
      schema: {
        tags,
        summary: 'Create a service: one segment (simple) or several in order with pauses (composite)',
        security,
        params: companyParams,
        body: createServiceSchema,
        response: { 201: adminServiceSchema, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createAdminService(deps, request.params.companyId, request.body)),
  );

  app.get(
    '/companies/:companyId/services',
    {
      schema: {
        tags,
        summary: "The company's services, active and deactivated, with segments and mappings",
        security,
        params: companyParams,
        response: { 200: z.object({ services: z.array(adminServiceSchema) }), ...errors },
      },
    },
    async (request) => ({ services: await listAdminServices(deps, request.params.companyId) }),
  );

  app.get(
    '/companies/:companyId/services/:serviceId',
    {
      schema: {
        tags,
        summary: 'One service with its segments and mappings',
        security,
        params: serviceParams,
        response: { 200: adminServiceSchema, ...errors },
      },
    },
    async (request) => getAdminService(deps, request.params.companyId, request.params.serviceId),
  );

  app.patch(
    '/companies/:companyId/services/:serviceId',
    {
      schema: {
        tags,
        summary:
          'Change a service; `segments` replace its segments by position (a changed duration must still match its mapped event types, 422 otherwise)',
        security,
        params: serviceParams,
        body: updateServiceSchema,
        response: { 200: adminServiceSchema, 422: errorSchema, ...errors },
      },
    },
    async (request) =>
      updateAdminService(deps, request.params.companyId, request.params.serviceId, request.body),
  );

  app.delete(
    '/companies/:companyId/services/:serviceId',
    {
      schema: {
        tags,
        summary:
          'Deactivate a service: no new bookings or availability; existing appointments are unaffected',
        security,
        params: serviceParams,
        response: { 200: adminServiceSchema, ...errors },
      },
    },
    async (request) =>
      updateAdminService(deps, request.params.companyId, request.params.serviceId, { active: false }),
  );

  app.post(
    '/companies/:companyId/mappings',
    {
      schema: {
        tags,
        summary:
          "Say which Cal.com event type books a segment with a staff member; checked against the company's Cal.com connection (422 EVENT_TYPE_MISMATCH names a missing event type or a length that differs)",
        security,
        params: companyParams,
        body: saveMappingSchema,
        response: { 200: mappingSchema, 201: mappingSchema, 422: errorSchema, ...errors },
      },
    },
    async (request, reply) => {
      const saved = await saveMapping(deps, request.params.companyId, request.body);
      return reply.status(saved.created ? 201 : 200).send(saved.mapping);
    },
  );

  app.delete(
    '/companies/:companyId/mappings/:mappingId',
    {
      schema: {
        tags,
        summary: 'Remove a mapping (existing appointments keep the event type they were booked with)',
        security,
        params: companyParams.extend({ mappingId: id('etm') }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await deleteMapping(deps, request.params.companyId, request.params.mappingId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/companies/:companyId/catalog',
    {
      schema: {
        tags,
        summary:
          'Apply a whole catalog (staff, services, segments, mappings; the format of `pnpm cli catalog:apply`) idempotently; `dryRun=true` only answers the diff',
        security,
        params: companyParams,
        querystring: z.object({ dryRun: z.enum(['true', 'false']).default('false') }),
        body: z.record(z.string(), z.unknown()).describe('The catalog document'),
        response: {
          200: z.object({
            applied: z.boolean(),
            changes: z.array(catalogChangeSchema),
            diff: z
              .array(z.string())
              .describe('The changes as lines: + created, ~ changed, - deactivated/removed'),
          }),
          422: errorSchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const catalog = parseCatalog(request.body);
      const result = await applyCatalog(deps, request.params.companyId, catalog, {
        dryRun: request.query.dryRun === 'true',
      });
      return { ...result, diff: formatCatalogChanges(result.changes) };
    },
  );
}
