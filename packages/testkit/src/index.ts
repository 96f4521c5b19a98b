export type { TestDatabase } from './database.ts';
export { createTestDatabase, TEST_SERVER_URL } from './database.ts';
export type { DstChange } from './days.ts';
export { dstChange, SALON_TIME_ZONE, salonTime, testDay, testDays } from './days.ts';
export type { SeedCompanyOptions, SeededCompany, SeedSegment, SeedStaff } from './fixtures.ts';
export { seedCompany } from './fixtures.ts';
export { pool } from './load.ts';
export { freePort, realClockEnv, throwawayRedis } from './processes.ts';
export { createTestRedis, TEST_REDIS_URL, testRedisPrefix } from './redis.ts';
