import { createTestRedis, TEST_REDIS_URL } from '@calgate/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_COMPANIES, announceAuthChange, listenForAuthChanges } from '../src/accounts/auth-changes.ts';

const { redis, prefix, cleanup } = createTestRedis();
const subscriber = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const heard: string[] = [];
const listening = listenForAuthChanges(subscriber, prefix, (companyId) => heard.push(companyId));
const deps = { redis, redisPrefix: prefix, logger: { debug() {}, info() {}, warn() {}, error() {} } };

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('not heard in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterAll(async () => {
  subscriber.disconnect();
  await cleanup();
});

describe('token change announcements', () => {
  it("tells listeners the company whose tokens changed, and nothing of other deployments' prefixes", async () => {
    await listening;
    await redis.publish('another-prefix:auth-changed', 'cmp_other');
    await announceAuthChange(deps, 'cmp_a');
    await until(() => heard.includes('cmp_a'));
    expect(heard).toEqual(['cmp_a']);
  });

  it('forgets every company after the subscriber reconnects (messages may have been lost meanwhile)', async () => {
    heard.length = 0;
    subscriber.disconnect(true);
    await until(() => heard.includes(ALL_COMPANIES));
    // And it still hears announcements after the reconnect.
    await announceAuthChange(deps, 'cmp_b');
    await until(() => heard.includes('cmp_b'));
  });

  it('keeps going when Redis cannot be reached: the change stands in the database', async () => {
    const offline = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    const warnings: unknown[] = [];
    await announceAuthChange(
      { ...deps, redis: offline, logger: { ...deps.logger, warn: (obj: object) => warnings.push(obj) } },
      'cmp_c',
    );
    expect(warnings).toHaveLength(1);
    offline.disconnect();
  });
});
