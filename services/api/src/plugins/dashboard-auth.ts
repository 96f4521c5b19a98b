import { isOperator, OPERATOR_CHALLENGE, type OperatorCredentials } from '@calgate/config';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-handler.ts';

/**
 * For the dashboard and /metrics: puts every route of `scope` behind HTTP basic auth with
 * ADMIN_USERNAME / ADMIN_PASSWORD; a missing or wrong login answers 401 in our error format. The
 * answer is sent here, not thrown: Bull Board answers its own routes' errors, and its error handler
 * would otherwise be the one to see a failed login.
 */
export function registerDashboardAuth(scope: FastifyInstance, admin: OperatorCredentials): void {
  scope.addHook('onRequest', async (request, reply) => {
    if (isOperator(request.headers.authorization, admin)) return;
    return reply
      .status(401)
      .header('www-authenticate', OPERATOR_CHALLENGE)
      .send(errorBody('UNAUTHORIZED', 'Operator credentials required'));
  });
}
