import { isOperator, OPERATOR_CHALLENGE, type OperatorCredentials } from '@calgate/config';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-handler.ts';
import type { OperatorLogins } from './operator-logins.ts';

/**
 * For the dashboard and /metrics: puts every route of `scope` behind HTTP basic auth with
 * ADMIN_USERNAME / ADMIN_PASSWORD; a missing or wrong login answers 401 in our error format. The
 * answer is sent here, not thrown: Bull Board answers its own routes' errors, and its error handler
 * would otherwise be the one to see a failed login.
 */
export function registerDashboardAuth(
  scope: FastifyInstance,
  admin: OperatorCredentials,
  logins: OperatorLogins,
): void {
  scope.addHook('onRequest', async (request, reply) => {
    const wait = logins.retryAfter(request.ip);
    if (wait !== undefined) {
      return reply
        .status(429)
        .header('retry-after', String(wait))
        .send(errorBody('RATE_LIMIT_EXCEEDED', `Too many failed operator logins: try again in ${wait} s`));
    }
    if (isOperator(request.headers.authorization, admin)) {
      logins.succeeded(request.ip);
      return;
    }
    logins.failed(request.ip, request.url.split('?')[0] as string);
    return reply
      .status(401)
      .header('www-authenticate', OPERATOR_CHALLENGE)
      .send(errorBody('UNAUTHORIZED', 'Operator credentials required'));
  });
  // The dashboard's buttons retry, clean and delete jobs: never inside another site's frame,
  // never cached (its pages carry the queues' data).
  scope.addHook('onSend', async (_request, reply) => {
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "frame-ancestors 'none'");
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
  });
}
