export {
  assertTimeZone,
  formatInZone,
  isValidTimeZone,
  offsetMinutes,
  parseInstant,
  parseWindowBound,
  utcDay,
  utcDaysBetween,
  zonedTimeToUtc,
} from './time.ts';
