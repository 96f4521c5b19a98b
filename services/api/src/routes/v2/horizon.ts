import { AppError } from '@calgate/errors';
import type { ApiDeps } from '../../deps.ts';

/**
 * Every new day costs Cal.com calls, so availability reaches AVAILABILITY_MAX_DAYS_AHEAD ahead,
 * and so do bookings, reschedules and holds (they read availability for their day): a time past
 * it is refused naming `field`. A time that is no date at all is left to the field's own check.
 */
export function assertWithinHorizon(deps: Pick<ApiDeps, 'config'>, at: string | Date, field: string): void {
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  const days = deps.config.availability.maxDaysAhead;
  // Past the years we take at all (9000) the field's own check answers, naming it as unreal.
  if (Number.isNaN(ms) || ms <= Date.now() + days * 86_400_000 || new Date(ms).getUTCFullYear() > 9000)
    return;
  const what = field === 'end' ? 'availability reaches' : 'bookings and holds reach';
  throw new AppError('VALIDATION_FAILED', `${field}: ${what} at most ${days} days ahead`, {
    details: { field, maxDaysAhead: days },
  });
}
