import { shape1 } from './errors.ts';
import type { SandboxAttendee, SandboxBookingField, SandboxEventType } from './types.ts';

/**
 * Cal.com's system fields as an event type has them unless its owner changed them: the attendee's
 * email is required, the attendee phone field exists but is hidden.
 */
export const DEFAULT_BOOKING_FIELDS: readonly SandboxBookingField[] = [
  { slug: 'name', type: 'name', required: true, hidden: false },
  { slug: 'email', type: 'email', required: true, hidden: false },
  { slug: 'attendeePhoneNumber', type: 'phone', required: false, hidden: true },
  { slug: 'notes', type: 'textarea', required: false, hidden: false },
];

/** `BookingLanguage` of Cal.com's booking input. */
const LANGUAGES: readonly string[] = [
  'ar',
  'az',
  'bg',
  'bn',
  'ca',
  'cs',
  'da',
  'de',
  'el',
  'en',
  'es',
  'es-419',
  'et',
  'eu',
  'fi',
  'fr',
  'he',
  'hr',
  'hu',
  'id',
  'it',
  'iw',
  'ja',
  'km',
  'ko',
  'lv',
  'nl',
  'no',
  'pl',
  'pt',
  'pt-BR',
  'ro',
  'ru',
  'sk',
  'sr',
  'sv',
  'ta',
  'th',
  'tr',
  'uk',
  'vi',
  'zh-CN',
  'zh-TW',
];

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const E164 = /^\+[1-9]\d{6,14}$/;

/** The event type's booking fields: its own where it has them, else Cal.com's defaults. */
export function bookingFieldsOf(eventType: SandboxEventType): readonly SandboxBookingField[] {
  const own = eventType.bookingFields ?? [];
  return DEFAULT_BOOKING_FIELDS.filter((d) => !own.some((f) => f.slug === d.slug)).concat(own);
}

/**
 * The attendee as POST /v2/bookings reads it (class-validator's checks of
 * `CreateBookingInput_2024_08_13.attendee`): an email or a phone number, each valid when present.
 */
export function readContact(
  email: unknown,
  phoneNumber: unknown,
  path: string,
): { email: string | undefined; phoneNumber: string | undefined } {
  const hasEmail = typeof email === 'string' && email.trim() !== '';
  const hasPhone = typeof phoneNumber === 'string' && phoneNumber.trim() !== '';
  if (!hasEmail && !hasPhone) {
    throw shape1(400, path, 'At least one contact method (email or phone number) must be provided');
  }
  if (email !== undefined && email !== '' && (typeof email !== 'string' || !EMAIL.test(email))) {
    throw shape1(400, path, 'Invalid email format');
  }
  if (phoneNumber !== undefined && (typeof phoneNumber !== 'string' || !E164.test(phoneNumber))) {
    throw shape1(400, path, 'Invalid phone number format. Please use international format.');
  }
  return {
    email: hasEmail ? (email as string) : undefined,
    phoneNumber: hasPhone ? (phoneNumber as string) : undefined,
  };
}

/**
 * Cal.com's check of the booking's responses against the event type's booking fields
 * (`getBookingResponsesSchema`): the attendee's email becomes the `email` response ("" when only a
 * phone was given) and the phone the `attendeePhoneNumber` response; a visible required field
 * without a value fails with `{slug}error_required_field`, a visible phone field with an invalid
 * number with `{slug}invalid_number`. Cal.com answers such a failure 400 from its Zod filter.
 */
export function checkResponses(
  eventType: SandboxEventType,
  attendee: { name: string; email: string | undefined; phoneNumber: string | undefined },
  extra: Record<string, unknown>,
  path: string,
): void {
  const responses: Record<string, unknown> = {
    ...extra,
    name: attendee.name,
    email: attendee.email ?? '',
    attendeePhoneNumber: attendee.phoneNumber,
  };
  const issues: string[] = [];
  for (const field of bookingFieldsOf(eventType)) {
    const value = responses[field.slug];
    const required = !field.hidden && field.required;
    if (required && (value === undefined || value === '' || value === null)) {
      issues.push(`{${field.slug}}error_required_field`);
      break;
    }
    if (field.type === 'phone' && !field.hidden && typeof value === 'string' && value !== '') {
      if (!E164.test(value)) issues.push(`{${field.slug}}invalid_number`);
    }
  }
  if (issues.length > 0) {
    // The Zod filter's message: "<path> - <issue>, " per issue.
    throw shape1(400, path, issues.map((issue) => `responses - ${issue}, `).join(''), 'BAD_REQUEST');
  }
}

/**
 * The email Cal.com gives an attendee who booked with a phone number only
 * (`contructEmailFromPhoneNumber`): the digits at sms.cal.com. No email is ever sent to it.
 */
export function phoneOnlyEmail(phoneNumber: string): string {
  return `${phoneNumber.replace(/\D/g, '')}@sms.cal.com`;
}

/**
 * The `bookingFields` of POST /v2/event-types. Cal.com lets the email field be optional or hidden
 * only together with a required, visible `attendeePhoneNumber` phone field (phone-only bookings).
 */
export function readBookingFields(value: unknown, path: string): SandboxBookingField[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw shape1(400, path, 'bookingFields must be an array');
  const fields: SandboxBookingField[] = value.map((raw) => {
    const f = (raw ?? {}) as Record<string, unknown>;
    const type = typeof f.type === 'string' ? f.type : '';
    const slug = typeof f.slug === 'string' ? f.slug : type === 'email' ? 'email' : type;
    if (slug === '') throw shape1(400, path, 'bookingFields: each field needs a type');
    return { slug, type, required: f.required !== false, hidden: f.hidden === true };
  });
  const email = fields.find((f) => f.slug === 'email');
  const phone = fields.find((f) => f.slug === 'attendeePhoneNumber');
  if (email !== undefined && (!email.required || email.hidden)) {
    if (phone === undefined || phone.type !== 'phone' || !phone.required || phone.hidden) {
      throw shape1(
        400,
        path,
        'The email booking field can be optional or hidden only when a required, visible phone field ' +
          'with slug attendeePhoneNumber is passed too',
      );
    }
  }
  return fields;
}

/** The attendee as stored: a phone-only attendee gets Cal.com's placeholder email. */
export function storedAttendee(
  contact: { email: string | undefined; phoneNumber: string | undefined },
  rest: { name: string; timeZone: string; language?: string },
): SandboxAttendee {
  return {
    name: rest.name,
    email: contact.email ?? phoneOnlyEmail(contact.phoneNumber as string),
    timeZone: rest.timeZone,
    ...(contact.phoneNumber === undefined ? {} : { phoneNumber: contact.phoneNumber }),
    ...(rest.language === undefined ? {} : { language: rest.language }),
  };
}

/** `attendee.language`, checked as Cal.com's IsEnum(BookingLanguage) does. */
export function readLanguage(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !LANGUAGES.includes(value)) {
    throw shape1(400, path, `attendee.language must be one of the following values: ${LANGUAGES.join(', ')}`);
  }
  return value;
}
