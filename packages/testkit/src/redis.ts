import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
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
      await deleteKeys(redis, `${prefix}*`);
      await redis.quit();
    },
  };
}

/**
 * The keys matching `pattern` (a glob, as Redis's MATCH takes it), read with SCAN: never KEYS, which
 * holds up every other test file using the same Redis while it walks the whole keyspace.
 */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** Deletes the keys matching `pattern` (see `scanKeys`). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  const keys = await scanKeys(redis, pattern);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
}

/** What Redis ran while a monitor watched: each command as `name firstArgument`, in Redis's order. */
export interface RedisMonitor {
  /** The commands whose first argument starts with the prefix given, as seen so far. */
  readonly ran: readonly string[];
  close(): void;
}

/**
 * Watches the commands Redis runs (MONITOR) on a plain socket, resolving once Redis has started
 * reporting. ioredis's own `monitor()` is not used: a report that arrives in the same packet as
 * MONITOR's "OK" — likely while other tests keep Redis busy — is taken for a reply to nothing, and
 * its connection fails with "Command queue state error".
 */
export function monitorRedis(prefix: string): Promise<RedisMonitor> {
  const url = new URL(TEST_REDIS_URL);
  const socket = createConnection({ host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) });
  const ran: string[] = [];
  return new Promise((resolve, reject) => {
    let buffered = '';
    // MONITOR answers "+OK", and so does an AUTH sent before it.
    let okBeforeStart = url.password === '' ? 1 : 2;
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('Redis closed the connection before MONITOR started')));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\r\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (okBeforeStart > 0) {
          if (line.startsWith('-')) return reject(new Error(`Redis refused MONITOR: ${line.slice(1)}`));
          if (line === '+OK' && --okBeforeStart === 0) resolve({ ran, close: () => socket.destroy() });
          continue;
        }
        // +1700000000.000000 [0 127.0.0.1:5000] "del" "key" ...
        const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) => match[1] ?? '');
        if (args[1]?.startsWith(prefix) === true) ran.push(`${args[0]?.toLowerCase()} ${args[1]}`);
      }
    });
    const command = (...args: string[]) =>
      `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
    if (url.password !== '') {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      socket.write(user === '' ? command('AUTH', password) : command('AUTH', user, password));
    }
    socket.write(command('MONITOR'));
  });
}
