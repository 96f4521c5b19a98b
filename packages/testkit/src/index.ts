export type { BulkAppointmentsOptions } from './bulk-appointments.ts';
export { bulkPhone, insertBulkAppointments } from './bulk-appointments.ts';
export type { TestDatabase } from './database.ts';
export { createTestDatabase, TEST_SERVER_URL } from './database.ts';
export type { DstChange } from './days.ts';
export { dstChange, SALON_TIME_ZONE, salonTime, testDay, testDays } from './days.ts';
export type { SeedCompanyOptions, SeededCompany, SeedSegment, SeedStaff } from './fixtures.ts';
export { seedCompany } from './fixtures.ts';
export { pool } from './load.ts';
export { freePort, realClockEnv, throwawayRedis } from './processes.ts';
export type { RedisMonitor } from './redis.ts';
export {
  createTestRedis,
  deleteKeys,
  monitorRedis,
  scanKeys,
  TEST_REDIS_URL,
  testRedisPrefix,
} from './redis.ts';
