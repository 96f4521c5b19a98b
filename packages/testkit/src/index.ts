export type { TestDatabase } from './database.ts';
export { createTestDatabase, TEST_SERVER_URL } from './database.ts';
export type { SeedCompanyOptions, SeededCompany, SeedSegment, SeedStaff } from './fixtures.ts';
export { seedCompany } from './fixtures.ts';
export { openDays, pool } from './load.ts';
export { freePort, throwawayRedis } from './processes.ts';
export { createTestRedis, TEST_REDIS_URL, testRedisPrefix } from './redis.ts';
