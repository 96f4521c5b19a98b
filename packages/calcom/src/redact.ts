import { createHash } from 'node:crypto';

/** A stable, non-reversible name for an API key in logs and Redis keys: `key_` + 12 hex. */
export function keyFingerprint(apiKey: string): string {
  return `key_${createHash('sha256').update(apiKey).digest('hex').slice(0, 12)}`;
}

const SECRET_FIELD = /secret|password|token|api[-_]?key|authorization|^key$/i;
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
const PHONE_FIELD = /phone/i;
// Customers' names and free text (a booking's title carries the attendee's name).
const PERSONAL_FIELD =
  /^(name|firstName|lastName|displayName|title|notes|additionalNotes|description|cancellationReason|reschedulingReason)$/i;
// Answers to a booking's questions: any key (a custom question may ask anything), so every text
// inside goes, whatever its field is called.
const PERSONAL_CONTAINER = /^(responses|bookingFieldsResponses|userFieldsResponses)$/i;

/**
 * A copy of a request or response body safe to log with CALCOM_DEBUG: emails masked to their
 * first letter and domain; phone numbers, names, notes, every answer inside `responses` and
 * secret-looking fields removed, at any depth.
 */
export function redact(value: unknown, field = '', inPersonal = false): unknown {
  if (SECRET_FIELD.test(field)) return '[redacted]';
  const personal = inPersonal || PERSONAL_CONTAINER.test(field);
  if (typeof value === 'string') {
    if (personal || PHONE_FIELD.test(field) || PERSONAL_FIELD.test(field)) return '***';
    return value.replace(EMAIL, '$1***@$2');
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, field, personal));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k, personal)]));
  }
  return value;
}

/**
 * A phone number in text: `+` and at least 7 digits with the separators people write
 * (`+49 151 2345-678`), or 9 or more digits without a dash (a date's `2026-12-07` is no phone).
 */
const PHONE_TEXT = /\+\d(?:[\s()./-]*\d){6,}|\b\d(?:[ ()/]?\d){8,}\b/g;
const EMAIL_TEXT = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/**
 * Cal.com's own words (an error message), with any email or phone number in them replaced: they
 * go to our callers' error bodies, the appointment's stored failure reason and the logs, none of
 * which may carry a customer's contact details.
 */
export function withoutContactDetails(text: string): string {
  return text.replace(EMAIL_TEXT, '[email]').replace(PHONE_TEXT, '[phone]');
}
