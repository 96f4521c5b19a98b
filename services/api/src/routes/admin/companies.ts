import {
  adminCreateCompany,
  changeEventTypeScope,
  companyScope,
  getCompany,
  issueToken,
  listCompanies,
  listTokens,
  revokeToken,
  setCompanyDisabled,
  updateCompany,
} from '@calgate/domain';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { errorSchema } from '../v2/schemas.ts';
import {
  calcomId,
  companyParams,
  companySchema,
  createCompanySchema,
  id,
  newTokenSchema,
  tokenSchema,
  updateCompanySchema,
} from './schemas.ts';

const security = [{ operator: [] }];
const errors = { 400: errorSchema, 401: errorSchema, 404: errorSchema };

/** Companies and their API tokens. */
export async function companyAdminRoutes(scope: FastifyInstance, deps: ApiDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.post(
    '/companies',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create a company and its first API token (the token is shown this once)',
        security,
        body: createCompanySchema,
        response: { 201: z.object({ company: companySchema, token: newTokenSchema }), ...errors },
      },
    },
    async (request, reply) => reply.status(201).send(await adminCreateCompany(deps, request.body)),
  );

  app.get(
    '/companies',
    {
      schema: {
        tags: ['admin'],
        summary: 'Every company',
        security,
        response: { 200: z.object({ companies: z.array(companySchema) }), 401: errorSchema },
      },
    },
    async () => ({ companies: await listCompanies(deps) }),
  );

  app.get(
    '/companies/:companyId',
    {
      schema: {
        tags: ['admin'],
        summary: 'One company',
        security,
        params: companyParams,
        response: { 200: companySchema, ...errors },
      },
    },
    async (request) => getCompany(deps, request.params.companyId),
  );

  app.patch(
    '/companies/:companyId',
    {
      schema: {
        tags: ['admin'],
        summary: 'Rename a company or change its time zone (staff keep their own zones)',
        security,
        params: companyParams,
        body: updateCompanySchema,
        response: { 200: companySchema, ...errors },
      },
    },
    async (request) => updateCompany(deps, request.params.companyId, request.body),
  );

  for (const action of ['disable', 'enable'] as const) {
    app.post(
      `/companies/:companyId/${action}`,
      {
        schema: {
          tags: ['admin'],
          summary:
            action === 'disable'
              ? 'Disable a company: its API tokens are refused at once, on every API process; its data stays'
              : 'Enable a disabled company again',
          security,
          params: companyParams,
          response: { 200: companySchema, ...errors },
        },
      },
      async (request) => {
        const company = await setCompanyDisabled(deps, request.params.companyId, action === 'disable');
        // This process forgets at once; the others hear it through Redis.
        deps.tokens.forget(company.id);
        return company;
      },
    );
  }

  const scopeSchema = z.object({
    companyId: z.string(),
    kind: z.enum(['account', 'assigned']).describe('account: its own Cal.com key, the whole account'),
    eventTypeIds: z.array(z.number().int()).optional(),
  });
  const scopeView = async (companyId: string) => {
    const scope = await companyScope(deps.db, companyId);
    return scope.kind === 'account' ? scope : { ...scope, eventTypeIds: scope.eventTypeIds };
  };
  app.get(
    '/companies/:companyId/scope',
    {
      schema: {
        tags: ['admin'],
        summary:
          "The company's scope: its whole Cal.com account, or the shared account's event types it owns",
        security,
        params: companyParams,
        response: { 200: scopeSchema, ...errors },
      },
    },
    async (request) => scopeView(request.params.companyId),
  );
  app.post(
    '/companies/:companyId/scope',
    {
      schema: {
        tags: ['admin'],
        summary:
          'Assign event types of the shared account (CALCOM_API_KEY) to the company, or take them away ' +
          '(its mappings to those are soft-deleted; appointments stay)',
        security,
        params: companyParams,
        body: z.strictObject({
          assign: z.array(calcomId).max(500).default([]),
          unassign: z.array(calcomId).max(500).default([]),
        }),
        response: { 200: scopeSchema, ...errors, 409: errorSchema },
      },
    },
    async (request) => {
      const { companyId } = request.params;
      await changeEventTypeScope(deps.db, companyId, request.body);
      return scopeView(companyId);
    },
  );

  app.post(
    '/companies/:companyId/tokens',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create an API token for the company (the secret is shown this once)',
        security,
        params: companyParams,
        // No body, or an empty one (which reaches validation as null): named `api`.
        body: z.strictObject({ name: z.string().trim().min(1).max(100).default('api') }).nullish(),
        response: { 201: newTokenSchema, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await issueToken(deps, request.params.companyId, request.body?.name ?? 'api')),
  );

  app.get(
    '/companies/:companyId/tokens',
    {
      schema: {
        tags: ['admin'],
        summary: "The company's API tokens, without their secrets",
        security,
        params: companyParams,
        response: { 200: z.object({ tokens: z.array(tokenSchema) }), ...errors },
      },
    },
    async (request) => ({ tokens: await listTokens(deps, request.params.companyId) }),
  );

  app.delete(
    '/companies/:companyId/tokens/:tokenId',
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke an API token: refused at once, on every API process (revoking twice is a no-op)',
        security,
        params: companyParams.extend({ tokenId: id('tok') }),
        response: { 200: tokenSchema, ...errors },
      },
    },
    async (request) => {
      const token = await revokeToken(deps, request.params.companyId, request.params.tokenId);
      deps.tokens.forget(token.companyId);
      return token;
    },
  );
}
