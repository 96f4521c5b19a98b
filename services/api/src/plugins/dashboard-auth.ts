import { timingSafeEqual } from 'node:crypto';
import basicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-handler.ts';

function same(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * For the dashboard and /metrics (Bull Board answers its own routes' errors, so the login answer is
 * sent here, not thrown). Puts every route of `scope` behind HTTP basic auth with ADMIN_USERNAME / ADMIN_PASSWORD:
 * a missing or wrong login answers 401 in our error format.
 */
export async function registerDashboardAuth(
  scope: FastifyInstance,
  admin: { username: string; password: string },
): Promise<void> {
  await scope.register(basicAuth, {
    validate: async (username, password) => {
      // Both compared, always, so timing says nothing about which one was wrong.
      const userOk = same(username, admin.username);
      const passOk = same(password, admin.password);
      if (!userOk || !passOk) throw new Error('bad credentials');
    },
  });
  // The answer is ours (and the dashboard's own error handler never sees a failed login).
  scope.addHook('onRequest', (request, reply, done) => {
    scope.basicAuth(request, reply, (error) => {
      if (error === undefined) {
        done();
        return;
      }
      reply
        .status(401)
        .header('www-authenticate', 'Basic realm="calgate operators"')
        .send(errorBody('UNAUTHORIZED', 'Operator credentials required'));
    });
  });
}
