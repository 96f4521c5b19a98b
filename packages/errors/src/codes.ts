/**
 * The closed set of error codes of our own API. Upstream callers see these in
 * `{"error":{"code","message","details"}}`; workers read `retry` to decide between
 * backing off and giving up.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  INVALID_TIMEZONE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_EVENT_TYPE: 404,
  SERVICE_NOT_FOUND: 404,
  STAFF_NOT_FOUND: 404,
  BOOKING_NOT_FOUND: 404,
  HOLD_NOT_FOUND: 404,
  SLOT_UNAVAILABLE: 409,
  /** Another caller holds the slot (`POST /api/v2/holds`); it may be free again after the hold expires. */
  SLOT_HELD: 409,
  IDEMPOTENCY_KEY_IN_USE: 409,
  INVALID_STATE: 409,
  /** The hold expired or was released before it was used. */
  HOLD_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  NOT_SUPPORTED: 422,
  /** A mapping's Cal.com event type is missing from the company's connection or has another length. */
  EVENT_TYPE_MISMATCH: 422,
  RATE_LIMIT_EXCEEDED: 429,
  INTERNAL: 500,
  UPSTREAM_ERROR: 502,
  CALCOM_UNAUTHORIZED: 502,
  UPSTREAM_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
  QUEUE_UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The HTTP status our API answers with for a code. */
export function httpStatusFor(code: ErrorCode): number {
  return ERROR_CODES[code];
}
