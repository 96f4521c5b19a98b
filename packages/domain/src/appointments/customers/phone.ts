import { AppError } from '@calgate/errors';
import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js';

/**
 * A phone number in E.164 (`+4915112345678`), so that every spelling of one number — `0151 1234 5678`,
 * `+49 (151) 12345678`, `0049 151 12345678` — is stored and matched as the same text. A number
 * without a country code is read in `defaultRegion`. Validity is libphonenumber's, as Cal.com checks
 * an attendee's `phoneNumber` with the same library, so what we store Cal.com accepts.
 * @throws AppError VALIDATION_FAILED naming `field` when it is not a valid number.
 */
export function normalizePhone(raw: string, field: string, defaultRegion: string | undefined): string {
  const region =
    defaultRegion !== undefined && isSupportedCountry(defaultRegion)
      ? (defaultRegion as CountryCode)
      : undefined;
  // "00" is the international prefix in most of the world; libphonenumber only reads it with a region.
  const text = raw.trim().replace(/^00(?=[1-9])/, '+');
  const parsed = parsePhoneNumberFromString(
    text,
    region === undefined ? undefined : { defaultCountry: region },
  );
  if (parsed === undefined || !parsed.isValid()) {
    const hint =
      !text.startsWith('+') && region === undefined
        ? 'must start with the country code (e.g. +4915112345678)'
        : 'must be a valid phone number, e.g. +4915112345678';
    throw new AppError('VALIDATION_FAILED', `${field}: ${hint}`, { details: { field } });
  }
  return parsed.number;
}

/** `normalizePhone` for optional input. */
export function normalizeOptionalPhone(
  raw: string | undefined,
  field: string,
  defaultRegion: string | undefined,
): string | undefined {
  return raw === undefined ? undefined : normalizePhone(raw, field, defaultRegion);
}

/**
 * A phone from a URL's query string: a `+` sent unencoded (`?phone=+49...`) arrives as a space,
 * and the digits alone would be read as a national number of the default region, another number.
 */
export function phoneFromQuery(raw: string): string {
  return raw.replace(/^ (?=\d)/, '+');
}
