import { AppError } from '@calgate/errors';

declare const kind: unique symbol;

/**
 * An id a calendar provider issued for one of its records. Opaque on purpose: the domain stores it,
 * compares it with `===`, uses it as a map key and hands it back, but never builds one or does
 * arithmetic on it. At run time it is the provider's own value (Cal.com: a number), so nothing
 * changes on the wire, in logs or in stored JSON.
 */
export type ProviderId<Kind extends string> = { readonly [kind]: Kind };

/** An event type (Cal.com: numeric `id`). */
export type EventTypeId = ProviderId<'eventType'>;
/** A user of the provider: an account owner, a host, a team member (Cal.com: numeric). */
export type UserId = ProviderId<'user'>;
/** A team of the provider's users (Cal.com: numeric). */
export type TeamId = ProviderId<'team'>;
/** A booking's record id, beside its uid (Cal.com: numeric `id`). */
export type BookingId = ProviderId<'booking'>;

/**
 * Ids that are text at every provider we know of. Branded strings: the domain may read them as
 * strings (store, log, compare), but only an id that came from the provider is accepted back.
 */
export type BookingUid = string & { readonly [kind]: 'bookingUid' };
export type ReservationUid = string & { readonly [kind]: 'reservationUid' };
export type WebhookId = string & { readonly [kind]: 'webhookId' };

/**
 * The gateway's tables keep provider ids that Cal.com issues as numbers in integer columns
 * (`calcom_event_type_id`, `calcom_user_id`, ...). These two functions are that storage boundary:
 * an id read back from such a column, and an id on its way into one. A provider with other ids
 * would need those columns to become text; the domain's logic would not change.
 */
export function storedEventTypeId(value: number): EventTypeId {
  return value as unknown as EventTypeId;
}

/**
 * The integer to store for a provider id.
 * @throws AppError INTERNAL when the provider's id is not an integer (it cannot be stored as one).
 */
export function storableId(id: ProviderId<string>): number {
  const value: unknown = id;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw new AppError('INTERNAL', 'A calendar provider id is not an integer and cannot be stored as one', {
    retry: false,
  });
}

/** A text id read back from storage (a booking uid, a reservation uid, a webhook id). */
export function storedTextId<Id extends BookingUid | ReservationUid | WebhookId>(value: string): Id {
  return value as Id;
}
