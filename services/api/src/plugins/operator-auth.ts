import { isOperator, OPERATOR_CHALLENGE, type OperatorCredentials } from '@calgate/config';
import { AppError } from '@calgate/errors';
import type { FastifyInstance } from 'fastify';

/**
 * Every route in the scope requires the operator's credentials (HTTP basic auth with
 * ADMIN_USERNAME / ADMIN_PASSWORD, as the dashboard and metrics do). Company API tokens are never
 * accepted here. Without configured credentials every route answers 404.
 */
export function registerOperatorAuth(app: FastifyInstance, admin: OperatorCredentials | undefined): void {
  app.addHook('onRequest', async (request, reply) => {
    if (admin === undefined) {
      throw new AppError('NOT_FOUND', 'The admin API is disabled: set ADMIN_USERNAME and ADMIN_PASSWORD');
    }
    if (isOperator(request.headers.authorization, admin)) return;
    const bearer = /^Bearer\s/i.test(String(request.headers.authorization ?? '').trim());
    reply.header('www-authenticate', OPERATOR_CHALLENGE);
    throw new AppError(
      'UNAUTHORIZED',
      bearer
        ? 'Authorization: company API tokens do not grant access to the admin API; use the operator credentials'
        : 'Authorization: operator credentials (HTTP basic auth) are required',
      { details: { field: 'Authorization' } },
    );
  });
}
