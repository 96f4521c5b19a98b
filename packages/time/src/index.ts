export {
  assertTimeZone,
  formatInZone,
  isIanaTimeZone,
  isValidTimeZone,
  offsetMinutes,
  parseInstant,
  parseWindowBound,
  utcDay,
  utcDaysBetween,
  zonedTimeToUtc,
} from './time.ts';
