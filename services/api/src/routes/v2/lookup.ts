import { findAppointments, findCustomers } from '@calgate/domain';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../../deps.ts';
import {
  appointmentPageSchema,
  customersSchema,
  findBookingsQuerySchema,
  findCustomersQuerySchema,
} from './lookup-schemas.ts';
import { errorSchema } from './schemas.ts';

const errors = { 400: errorSchema, 401: errorSchema };

/** Find appointments and customers ("when is my appointment?"), scoped to the token's company. */
export async function lookupRoutes(scope: FastifyInstance, deps: ApiDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/bookings',
    {
      schema: {
        tags: ['bookings'],
        security: [{ bearer: [] }],
        summary: "Find the company's appointments (filters, cursor pagination)",
        description:
          'Every filter given must match. Ordered by start, then id; `nextCursor` continues after the ' +
          'last appointment of the page, so appointments booked meanwhile never make a page repeat or ' +
          'skip one. A cursor only works with the filters it was made for.',
        querystring: findBookingsQuerySchema,
        response: { 200: appointmentPageSchema, ...errors },
      },
    },
    async (request) => {
      const { status, ...rest } = request.query;
      return findAppointments(
        deps.sql,
        request.company.id,
        { ...rest, ...(status === undefined ? {} : { status: [status].flat() }) },
        deps.phoneRegion,
      );
    },
  );

  app.get(
    '/customers',
    {
      schema: {
        tags: ['customers'],
        security: [{ bearer: [] }],
        summary: 'Customers by phone or email, each with their upcoming appointments',
        description: 'Exactly one of `phone` (any spelling, matched in E.164) or `email` (case-insensitive).',
        querystring: findCustomersQuerySchema,
        response: { 200: customersSchema, ...errors },
      },
    },
    async (request) => ({
      customers: await findCustomers(deps.sql, request.company.id, request.query, deps.phoneRegion),
    }),
  );
}
