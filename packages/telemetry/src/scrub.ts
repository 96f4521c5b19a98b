// Keys whose values are secrets at any depth (pino's redact paths reach one level only).
const SECRET_KEY =
  /^(.*secret.*|password|passwd|token|accessToken|refreshToken|apiKey|api[-_]key|authorization|cookie|x-cal-signature-256|encryptionKey)$/i;
// Keys whose values are a customer's personal data: logged only with LOG_PERSONAL_DATA.
const PERSONAL_KEY =
  /^(email|emails|phone|phoneNumber|attendeePhoneNumber|firstName|lastName|attendeeName|customerName|notes|additionalNotes|responses|bookingFieldsResponses|attendees|guests|customer|cancellationReason|reschedulingReason)$/i;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// A phone number as we store and Cal.com sends them (E.164, maybe with separators): `+` and 7+ digits.
const PHONE = /\+\d(?:[\s()./-]*\d){6,}/g;
const masked = (text: string) => text.replace(EMAIL, '[email]').replace(PHONE, '[phone]');
const MAX_DEPTH = 8;

export interface ScrubOptions {
  /** LOG_PERSONAL_DATA: keep customers' personal data (secrets are removed regardless). */
  personalData: boolean;
}

/**
 * A copy of a log object without secrets at any depth and, unless `personalData`, without
 * customers' personal data: such keys are replaced, emails inside any text masked. Errors are
 * left to `serializeError` (pino's serializer for `err`).
 */
export function scrubLogObject(value: unknown, options: ScrubOptions, key = '', depth = 0): unknown {
  if (key !== '' && SECRET_KEY.test(key) && value !== undefined && value !== null) return '[redacted]';
  if (!options.personalData && PERSONAL_KEY.test(key) && value !== undefined && value !== null) {
    return '[personal]';
  }
  if (typeof value === 'string') return options.personalData ? value : masked(value);
  if (value === null || typeof value !== 'object' || value instanceof Error || depth >= MAX_DEPTH)
    return value;
  if (Array.isArray(value)) return value.map((item) => scrubLogObject(item, options, key, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, scrubLogObject(v, options, k, depth + 1)]),
  );
}

// Fields of a database error that carry the statement's values: drizzle's `params`, postgres.js's
// `parameters`, PostgreSQL's `detail` ("Key (email)=(...) already exists") and `where`.
const VALUE_FIELDS = new Set(['params', 'parameters', 'detail', 'where', 'args']);

/** A SQLSTATE: the error came from PostgreSQL and its message may quote a value of the statement. */
const isSqlState = (code: unknown) => typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);

/**
 * Drops what a query error says about its values: drizzle's "params: ..." part, the parameter
 * fields, and the quoted values PostgreSQL puts in its messages (the table, column and constraint
 * stay as fields of their own). Keeps the statement with its placeholders and the SQLSTATE.
 */
function scrubMessage(message: string, fromPostgres: boolean, options: ScrubOptions): string {
  const withoutParams = message.replace(/\nparams: [\s\S]*$/, '');
  const unquoted = fromPostgres ? withoutParams.replace(/"[^"]*"/g, '"…"') : withoutParams;
  return options.personalData ? unquoted : masked(unquoted);
}

/**
 * pino's serializer for `err`: type, message, stack and fields, without the values a database
 * error carries (customers' emails, phones, whole webhook bodies), down the `cause` chain.
 */
export function serializeError(error: unknown, options: ScrubOptions, depth = 0): unknown {
  if (!(error instanceof Error)) return scrubLogObject(error, options);
  const fields = error as unknown as Record<string, unknown>;
  const type = error.constructor?.name ?? 'Error';
  const message = scrubMessage(error.message, isSqlState(fields.code), options);
  const stack = error.stack ?? '';
  const frames = stack.indexOf('\n    at ');
  const out: Record<string, unknown> = {
    type,
    message,
    stack: `${type}: ${message}${frames === -1 ? '' : stack.slice(frames)}`,
  };
  for (const [key, value] of Object.entries(error)) {
    if (VALUE_FIELDS.has(key) || key === 'cause' || key === 'message' || key === 'stack') continue;
    out[key] = key === 'query' ? value : scrubLogObject(value, options, key);
  }
  if (error.cause !== undefined && depth < 4) out.cause = serializeError(error.cause, options, depth + 1);
  if (error instanceof AggregateError) {
    out.errors = error.errors.slice(0, 5).map((inner) => serializeError(inner, options, depth + 1));
  }
  return out;
}
