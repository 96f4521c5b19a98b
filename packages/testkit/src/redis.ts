import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique key prefix for one test file (no ':' inside, so it is a valid BullMQ prefix). */
export function testRedisPrefix(): string {
  return `t-${randomBytes(6).toString('hex')}`;
}

/** A Redis connection and a prefix of its own; `cleanup` deletes every key under the prefix. */
export function createTestRedis(): { redis: Redis; prefix: string; cleanup(): Promise<void> } {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = testRedisPrefix();
  return {
    redis,
    prefix,
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}
