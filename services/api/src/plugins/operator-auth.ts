import { timingSafeEqual } from 'node:crypto';
import { AppError } from '@calgate/errors';
import type { FastifyInstance } from 'fastify';

function same(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when `header` is HTTP basic auth with exactly the operator's username and password. */
export function isOperator(header: unknown, admin: { username: string; password: string }): boolean {
  if (typeof header !== 'string') return false;
  const match = /^Basic\s+([A-Za-z0-9+/=]{1,1000})$/i.exec(header.trim());
  if (match === null) return false;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both compared, always, so timing says nothing about which one was wrong.
  const userOk = same(decoded.slice(0, colon), admin.username);
  const passOk = same(decoded.slice(colon + 1), admin.password);
  return userOk && passOk;
}

/**
 * Every route in the scope requires the operator's credentials (HTTP basic auth with
 * ADMIN_USERNAME / ADMIN_PASSWORD, as the dashboard and metrics do). Company API tokens are never
 * accepted here. Without configured credentials every route answers 404.
 */
export function registerOperatorAuth(
  app: FastifyInstance,
  admin: { username: string; password: string } | undefined,
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (admin === undefined) {
      throw new AppError('NOT_FOUND', 'The admin API is disabled: set ADMIN_USERNAME and ADMIN_PASSWORD');
    }
    if (isOperator(request.headers.authorization, admin)) return;
    const bearer = /^Bearer\s/i.test(String(request.headers.authorization ?? '').trim());
    reply.header('www-authenticate', 'Basic realm="calgate operators"');
    throw new AppError(
      'UNAUTHORIZED',
      bearer
        ? 'Authorization: company API tokens do not grant access to the admin API; use the operator credentials'
        : 'Authorization: operator credentials (HTTP basic auth) are required',
      { details: { field: 'Authorization' } },
    );
  });
}
