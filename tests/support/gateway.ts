import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { buildApp, createApiDeps } from '@calgate/api';
import { type Config, loadConfig } from '@calgate/config';
import { QUEUE_NAMES } from '@calgate/jobs';
import { createDomainRuntime, type DomainRuntime } from '@calgate/runtime';
import { DEMO_API_KEY, type RunningSandbox, type SandboxOptions, startSandbox } from '@calgate/sandbox';
import { createLogger } from '@calgate/telemetry';
import {
  createTestDatabase,
  deleteKeys,
  type SeededCompany,
  salonTime,
  seedCompany,
  TEST_REDIS_URL,
  type TestDatabase,
  testDay,
  testDays,
  testRedisPrefix,
} from '@calgate/testkit';
import { startWorkerHost } from '@calgate/worker';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';

export interface Gateway {
  app: FastifyInstance;
  /** Where the API listens when started with `listen: true` (for the sandbox's webhooks). */
  baseUrl: string | undefined;
  sandbox: RunningSandbox;
  database: TestDatabase;
  config: Config;
  env: Record<string, string>;
  company: SeededCompany;
  /** The domain's collaborators, as the operator CLI builds them; closed with the gateway. */
  runtime(): DomainRuntime;
  /** Starts (another) in-process worker host; closed with the gateway. */
  startWorker(): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  sandbox?: SandboxOptions;
  env?: Record<string, string>;
  /** Start a worker host in this process. @defaultValue true */
  worker?: boolean;
  /** Listen on a loopback port, so that the sandbox can deliver webhooks. @defaultValue false */
  listen?: boolean;
  /** A database to use instead of a fresh one on the shared test server (it is dropped on close). */
  database?: TestDatabase;
  /** Where log lines go (with LOG_LEVEL from `env`); by default nowhere. */
  logDestination?: NodeJS.WritableStream;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Demo salon ids in the sandbox: stylists 2 (Alex) and 3 (Billie); haircut event types 102, 103. */
export const HAIRCUT = { alex: 102, billie: 103 } as const;

/** Sandbox event types `base + stylist id` for Alex (staff 0) and Billie (staff 1). */
const byStylist = (base: number) => [
  { staff: 0, eventTypeId: base + 2 },
  { staff: 1, eventTypeId: base + 3 },
];

/**
 * The whole gateway in one process against real Postgres and Redis and the Cal.com sandbox over
 * HTTP: a fresh database, a unique queue prefix, one seeded company with a haircut service.
 */
export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  // Suites make more Cal.com calls per minute than a real key allows; the budget and 429 handling
  // have their own tests, which pass tighter limits.
  const sandbox = await startSandbox({ rateLimitPerMinute: 100_000, ...options.sandbox });
  const database = options.database ?? (await createTestDatabase());
  const port = options.listen === true ? await freePort() : undefined;
  const env: Record<string, string> = {
    ...(port === undefined ? {} : { PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}` }),
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: database.url,
    DATABASE_POOL_MAX: '5',
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: testRedisPrefix(),
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    CALCOM_BASE_URL: sandbox.baseUrl,
    CALCOM_API_KEY: DEMO_API_KEY,
    CALCOM_TIMEOUT: '5',
    CALCOM_MAX_RETRIES: '2',
    CALCOM_WEBHOOK_SECRET: 'test-webhook-secret-123',
    CALCOM_RATE_LIMIT_PER_MINUTE: '50000',
    // Likewise our own per-company rate limit (tests/limits.test.ts sets tight ones).
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    API_RATE_LIMIT_BURST: '1000000',
    MAX_WAITERS_PER_COMPANY: '10000',
    // Suites that test the syncs run them explicitly.
    EVENT_TYPE_SYNC_INTERVAL_MINUTES: '0',
    RECONCILE_INTERVAL_MINUTES: '0',
    ...options.env,
  };
  const config = loadConfig(env);
  const logger = createLogger({
    name: 'test',
    level: config.logLevel,
    personalData: config.logPersonalData,
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const deps = createApiDeps(config, logger);
  const app = await buildApp(deps);
  await app.ready();
  if (port !== undefined) await app.listen({ host: '127.0.0.1', port });
  const workers: Array<{ close(): Promise<void> }> = [];
  let runtime: DomainRuntime | undefined;
  const startWorker = async () => {
    const host = await startWorkerHost(config, logger);
    workers.push(host);
    return host;
  };
  if (options.worker !== false) await startWorker();
  const company = await seedCompany(database.db, {
    name: 'Salon',
    staff: [
      { name: 'Alex', calcomUserId: 2 },
      { name: 'Billie', calcomUserId: 3 },
    ],
    services: [
      {
        name: 'Haircut',
        segments: [
          {
            name: 'Haircut',
            durationMinutes: 30,
            eventTypes: [
              { staff: 0, eventTypeId: HAIRCUT.alex },
              { staff: 1, eventTypeId: HAIRCUT.billie },
            ],
          },
        ],
      },
      {
        name: 'Colour, wash and cut',
        kind: 'composite',
        segments: [
          { name: 'Colour', durationMinutes: 45, pauseAfterMinutes: 30, eventTypes: byStylist(200) },
          { name: 'Wash and cut', durationMinutes: 30, eventTypes: byStylist(300) },
          { name: 'Blow-dry', durationMinutes: 15, eventTypes: byStylist(400) },
        ],
      },
      {
        name: 'Colour and cut',
        kind: 'composite',
        segments: [
          { name: 'Colour', durationMinutes: 45, pauseAfterMinutes: 30, eventTypes: byStylist(200) },
          { name: 'Cut', durationMinutes: 30, eventTypes: byStylist(100) },
        ],
      },
    ],
  });
  return {
    app,
    baseUrl: port === undefined ? undefined : `http://127.0.0.1:${port}`,
    sandbox,
    database,
    config,
    env,
    company,
    startWorker,
    runtime() {
      runtime ??= createDomainRuntime(config, logger, { service: 'calgate-test', failFast: false });
      return runtime;
    },
    async close() {
      await runtime?.close();
      await Promise.all(workers.map((w) => w.close()));
      await app.close();
      await deps.close();
      await sandbox.close();
      await database.drop();
      const redis = new Redis(TEST_REDIS_URL);
      await deleteKeys(redis, `${config.redis.queuePrefix}*`);
      await redis.quit();
    },
  };
}

/**
 * `POST /api/v2/bookings` as the gateway's company: its haircut (the first service) in
 * Europe/Berlin unless `body` names others.
 */
export function postBooking(
  g: Pick<Gateway, 'app' | 'company'>,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return g.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(g.company.token, headers),
    payload: { serviceId: g.company.serviceIds[0], timeZone: 'Europe/Berlin', ...body },
  });
}

/** `HH:MM` on `day` in Europe/Berlin (the salon's zone) as an ISO instant with that moment's offset. */
export const berlin = salonTime;
export { testDay, testDays };

export function auth(token: string, extra: Record<string, string> = {}) {
  return { authorization: `Bearer ${token}`, ...extra };
}

/**
 * Polls until `check` returns a value, or fails after `timeoutMs`. The deadline is generous on
 * purpose: a passing check returns at once, and a loaded machine must not fail a correct gateway.
 */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until the gateway's queues hold no work (nothing waiting, active, delayed or waiting for
 * children; the schedulers' own repeat jobs aside): what a test waits on instead of sleeping
 * before it asserts that nothing (more) happened.
 */
export async function queuesSettled(g: Pick<Gateway, 'config'>, timeoutMs = 60_000): Promise<void> {
  const connection = new Redis(g.config.redis.url, { maxRetriesPerRequest: null });
  const queues = QUEUE_NAMES.map(
    (name) => new Queue(name, { connection, prefix: g.config.redis.queuePrefix }),
  );
  try {
    await eventually(async () => {
      for (const queue of queues) {
        const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
        if (jobs.some((job) => job !== undefined && !job.id?.startsWith('repeat:'))) return undefined;
      }
      return true;
    }, timeoutMs);
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
    await connection.quit();
  }
}

/** Cal.com's bookings list with nothing in it (its write not visible yet, for a lookup to miss). */
export const EMPTY_BOOKINGS_LIST = {
  status: 'success',
  data: [],
  pagination: {
    totalItems: 0,
    remainingItems: 0,
    returnedItems: 0,
    itemsPerPage: 100,
    currentPage: 1,
    totalPages: 1,
    hasNextPage: false,
    hasPreviousPage: false,
  },
};
