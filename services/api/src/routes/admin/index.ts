import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../../deps.ts';
import { registerOperatorAuth } from '../../plugins/operator-auth.ts';
import { catalogAdminRoutes } from './catalog.ts';
import { companyAdminRoutes } from './companies.ts';
import { webhookEndpointAdminRoutes } from './webhook-endpoints.ts';

/** Where the operator API lives. */
export const ADMIN_API_PREFIX = '/api/admin/v1';

/**
 * The operator API: onboard and run companies without SQL. Operator credentials only (never a
 * company token); register it under `ADMIN_API_PREFIX`.
 */
export async function adminRoutes(scope: FastifyInstance, deps: ApiDeps): Promise<void> {
  registerOperatorAuth(scope, deps.config.admin, deps.operatorLogins);
  await companyAdminRoutes(scope, deps);
  await catalogAdminRoutes(scope, deps);
  await webhookEndpointAdminRoutes(scope, deps);
}
