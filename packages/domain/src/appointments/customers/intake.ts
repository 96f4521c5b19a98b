import type { CalcomLanguage } from '@calgate/calcom';
import { AppError } from '@calgate/errors';
import type { ServiceDefinition } from '../../services/catalog.ts';
import { normalizeOptionalPhone } from './phone.ts';

/** A customer as a booking request gives it: an email, a phone, or both. */
export interface CustomerInput {
  name: string;
  email?: string | undefined;
  phone?: string | undefined;
  language?: CalcomLanguage | undefined;
}

/**
 * The customer as it is stored: the email trimmed, the phone in E.164 (read in `phoneRegion` when
 * it has no country code). A customer needs an email or a phone.
 * @throws AppError VALIDATION_FAILED naming `customer.email` or `customer.phone`.
 */
export function prepareCustomer(customer: CustomerInput, phoneRegion: string | undefined): CustomerInput {
  const email = customer.email?.trim();
  const phone = normalizeOptionalPhone(customer.phone, 'customer.phone', phoneRegion);
  if ((email === undefined || email === '') && phone === undefined) {
    throw new AppError('VALIDATION_FAILED', 'customer.email: required when customer.phone is not given', {
      details: { field: 'customer.email' },
    });
  }
  return {
    name: customer.name,
    ...(email === undefined || email === '' ? {} : { email }),
    ...(phone === undefined ? {} : { phone }),
    ...(customer.language === undefined ? {} : { language: customer.language }),
  };
}

/**
 * A customer without an email can only be booked where every Cal.com event type that may book the
 * appointment takes a phone-only attendee (its email booking field optional, its
 * `attendeePhoneNumber` field required): Cal.com rejects the booking otherwise, so we answer 400
 * before recording anything. With `staffId` only that person's event types count.
 * @throws AppError VALIDATION_FAILED naming `customer.email`.
 */
export function assertContactAccepted(
  service: ServiceDefinition,
  staffId: string | undefined,
  customer: CustomerInput,
): void {
  if (customer.email !== undefined) return;
  for (const segment of service.segments) {
    const own = staffId === undefined ? [] : segment.options.filter((o) => o.staffId === staffId);
    const options = own.length > 0 ? own : segment.options;
    const needsEmail = options.find((o) => o.requiresEmail);
    if (needsEmail !== undefined) {
      const who = staffId === undefined && options.length > 1 ? ` with ${needsEmail.staffName}` : '';
      throw new AppError(
        'VALIDATION_FAILED',
        `customer.email: required for ${service.name}${who}: its Cal.com event type ` +
          `(${needsEmail.eventTypeId}) takes no booking without the attendee's email`,
        { details: { field: 'customer.email', eventTypeId: needsEmail.eventTypeId } },
      );
    }
  }
}
