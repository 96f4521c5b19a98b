import { isOperator, OPERATOR_CHALLENGE, type OperatorCredentials } from '@calgate/config';
import { AppError } from '@calgate/errors';
import type { FastifyInstance } from 'fastify';
import type { OperatorLogins } from './operator-logins.ts';

/**
 * Every route in the scope requires the operator's credentials (HTTP basic auth with
 * ADMIN_USERNAME / ADMIN_PASSWORD, as the dashboard and metrics do). Company API tokens are never
 * accepted here. Without configured credentials every route answers 404.
 */
export function registerOperatorAuth(
  app: FastifyInstance,
  admin: OperatorCredentials | undefined,
  logins: OperatorLogins,
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (admin === undefined) {
      throw new AppError('NOT_FOUND', 'The admin API is disabled: set ADMIN_USERNAME and ADMIN_PASSWORD');
    }
    const wait = logins.retryAfter(request.ip);
    if (wait !== undefined) {
      reply.header('retry-after', String(wait));
      throw new AppError('RATE_LIMIT_EXCEEDED', `Too many failed operator logins: try again in ${wait} s`, {
        details: { field: 'Authorization', retryAfterSeconds: wait },
      });
    }
    if (isOperator(request.headers.authorization, admin)) {
      logins.succeeded(request.ip);
      return;
    }
    logins.failed(request.ip, request.url.split('?')[0] as string);
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
