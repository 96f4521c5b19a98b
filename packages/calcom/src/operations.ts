/** Every Cal.com call the gateway makes; used in logs, metrics, hooks and the sandbox. */
export const CALCOM_OPERATIONS = [
  'slots.get',
  'slots.reserve',
  'reservations.get',
  'reservations.update',
  'reservations.delete',
  'bookings.create',
  'bookings.get',
  'bookings.list',
  'bookings.reschedule',
  'bookings.cancel',
  'me.get',
  'eventTypes.create',
  'eventTypes.list',
  'webhooks.create',
  'webhooks.list',
  'webhooks.update',
  'webhooks.delete',
  'teams.list',
  'teams.memberships',
] as const;
export type CalcomOperation = (typeof CALCOM_OPERATIONS)[number];

/**
 * `cal-api-version` per endpoint family. A missing or unknown value silently routes to an older
 * controller with other shapes, so every family sends its own. Bookings use CALCOM_API_VERSION.
 */
export const API_VERSIONS = {
  slots: '2024-09-04',
  eventTypes: '2024-06-14',
} as const;

export function familyOf(operation: CalcomOperation): 'slots' | 'bookings' | 'eventTypes' | 'none' {
  if (operation.startsWith('slots.') || operation.startsWith('reservations.')) return 'slots';
  if (operation.startsWith('bookings.')) return 'bookings';
  if (operation.startsWith('eventTypes.')) return 'eventTypes';
  return 'none';
}
