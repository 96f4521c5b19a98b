import { AppError } from '@calgate/errors';
import { isIanaTimeZone } from '@calgate/time';

/** @throws AppError INVALID_TIMEZONE naming `field` (as the caller spelled it: `timeZone`, `staff.0.timeZone`). */
export function checkTimeZone(zone: string, field: string): void {
  if (!isIanaTimeZone(zone)) {
    throw new AppError('INVALID_TIMEZONE', `${field}: ${zone.slice(0, 64)} is not an IANA time zone`, {
      details: { field },
    });
  }
}
