/**
 * Codes that mean "a backing service (PostgreSQL, Redis) is not answering right now", from Node's
 * sockets, postgres.js and PostgreSQL itself (class 08, and 57P01-57P03: shut down or starting).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
]);

function codeOf(error: object): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * True when the error (or one it wraps) says a backing service is unavailable, as opposed to a
 * bad request or a bug. The API answers such errors with 503; the job boundary waits and tries
 * again without spending one of the job's attempts. Cal.com's own failures are AppErrors and
 * never count here.
 */
export function isBackingServiceUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    if ((current as { name?: unknown }).name === 'AppError') return false;
    const code = codeOf(current);
    if (code !== undefined && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
    if (
      current instanceof AggregateError &&
      current.errors.some((inner) => isBackingServiceUnavailable(inner))
    ) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
