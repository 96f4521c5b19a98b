import { AppError, type ErrorCode } from '@calgate/errors';
import type { CalcomOperation } from './operations.ts';
import type { RateLimitInfo } from './rate-limit.ts';
import { withoutContactDetails } from './redact.ts';

/** An error from (or on the way to) Cal.com, mapped to our closed code set. */
export class CalcomError extends AppError {
  readonly operation: CalcomOperation;
  /** Cal.com's HTTP status; undefined when no answer arrived. */
  readonly upstreamStatus: number | undefined;
  readonly calcomCode: string | undefined;
  readonly rateLimit: RateLimitInfo | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      operation: CalcomOperation;
      upstreamStatus?: number | undefined;
      calcomCode?: string | undefined;
      rateLimit?: RateLimitInfo | undefined;
      retry: boolean;
      details?: Record<string, unknown>;
      cause?: unknown;
    },
  ) {
    super(code, message, { retry: options.retry, details: options.details, cause: options.cause });
    this.name = 'CalcomError';
    this.operation = options.operation;
    this.upstreamStatus = options.upstreamStatus;
    this.calcomCode = options.calcomCode;
    this.rateLimit = options.rateLimit;
  }
}

export interface ParsedErrorBody {
  message: string;
  calcomCode: string | undefined;
}

/** Reads the three error body shapes Cal.com sends (and anything else without failing). */
export function parseErrorBody(body: unknown): ParsedErrorBody {
  if (body !== null && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const nested = record.error;
    if (nested !== null && typeof nested === 'object') {
      const error = nested as Record<string, unknown>;
      return {
        message: stringify(error.message) ?? 'Cal.com error',
        calcomCode: typeof error.code === 'string' ? error.code : undefined,
      };
    }
    if ('message' in record) {
      return { message: stringify(record.message) ?? 'Cal.com error', calcomCode: undefined };
    }
  }
  if (typeof body === 'string' && body.trim() !== '')
    return { message: body.slice(0, 300), calcomCode: undefined };
  return { message: 'Cal.com error', calcomCode: undefined };
}

function stringify(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(String).join('; ');
  return undefined;
}

const SLOT_TAKEN =
  /already has booking|not available|one of the hosts|no available users|booking_conflict|slot.*(taken|unavailable|reserved)/i;
const ALREADY_CANCELLED = /cancelled already|already (been )?cancelled/i;
const TIMEZONE = /time ?zone/i;
/** Cal.com's check of the booking's responses against the event type's booking fields. */
const REQUIRED_CONTACT = /\{(email|attendeePhoneNumber)\}error_required_field/;

/**
 * Maps Cal.com's answer to our code and whether the same call may succeed later. Pure; the
 * table in docs/calcom-contract.md is the source.
 */
export function classifyCalcomError(
  operation: CalcomOperation,
  status: number,
  parsed: ParsedErrorBody,
): { code: ErrorCode; retry: boolean; message: string } {
  const { calcomCode } = parsed;
  const message = withoutContactDetails(parsed.message);
  const hint = `${calcomCode ?? ''} ${message}`;
  if (status === 429)
    return { code: 'RATE_LIMIT_EXCEEDED', retry: true, message: 'Cal.com rate limit reached' };
  if (status === 401 || status === 403) {
    return { code: 'CALCOM_UNAUTHORIZED', retry: false, message: 'Cal.com rejected the API key' };
  }
  if (status >= 500)
    return { code: 'UPSTREAM_UNAVAILABLE', retry: true, message: `Cal.com answered ${status}` };
  if (status === 409 || (status === 422 && operation === 'slots.reserve') || SLOT_TAKEN.test(hint)) {
    return { code: 'SLOT_UNAVAILABLE', retry: false, message: 'The slot is no longer available' };
  }
  if (status === 404) {
    if (/event ?type/i.test(message)) return { code: 'INVALID_EVENT_TYPE', retry: false, message };
    if (/booking/i.test(message) || operation.startsWith('bookings.')) {
      return { code: 'BOOKING_NOT_FOUND', retry: false, message };
    }
    return { code: 'NOT_FOUND', retry: false, message };
  }
  if (ALREADY_CANCELLED.test(message)) return { code: 'INVALID_STATE', retry: false, message };
  if (status === 400 && TIMEZONE.test(message)) return { code: 'INVALID_TIMEZONE', retry: false, message };
  const contact = status === 400 ? REQUIRED_CONTACT.exec(message) : null;
  if (contact !== null) {
    // The event type's booking fields changed since the last sync: name the field of our API.
    const field = contact[1] === 'email' ? 'customer.email' : 'customer.phone';
    return {
      code: 'VALIDATION_FAILED',
      retry: false,
      message: `${field}: required by the Cal.com event type's booking fields`,
    };
  }
  if (status === 408) return { code: 'UPSTREAM_TIMEOUT', retry: true, message: 'Cal.com timed out' };
  return { code: 'VALIDATION_FAILED', retry: false, message: `Cal.com rejected the request: ${message}` };
}

/** True when Cal.com refused a cancel because the booking is already cancelled (done, for us). */
export function isAlreadyCancelled(error: unknown): boolean {
  return (
    error instanceof CalcomError && error.code === 'INVALID_STATE' && ALREADY_CANCELLED.test(error.message)
  );
}
