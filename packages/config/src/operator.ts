import { timingSafeEqual } from 'node:crypto';

/** The operator's login (ADMIN_USERNAME / ADMIN_PASSWORD) for the admin API, the dashboard and metrics. */
export interface OperatorCredentials {
  username: string;
  password: string;
}

/** What a refused operator route sends as `WWW-Authenticate`, so clients prompt for basic auth. */
export const OPERATOR_CHALLENGE = 'Basic realm="calgate operators"';

function same(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * True when `authorization` (an `Authorization` header's value) is HTTP basic auth with exactly the
 * operator's username and password. The one credential check of every operator route: the admin
 * API, the API's dashboard and /metrics, and the worker's /metrics.
 */
export function isOperator(authorization: unknown, credentials: OperatorCredentials): boolean {
  if (typeof authorization !== 'string') return false;
  // The scheme is case-insensitive (RFC 7617); the length bound keeps a huge header from being decoded.
  const match = /^Basic\s+([A-Za-z0-9+/=]{1,1000})$/i.exec(authorization.trim());
  if (match === null) return false;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both compared, always, so timing says nothing about which one was wrong.
  const userOk = same(decoded.slice(0, colon), credentials.username);
  const passOk = same(decoded.slice(colon + 1), credentials.password);
  return userOk && passOk;
}
