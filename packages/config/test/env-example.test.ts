import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../src/index.ts';
import { envSchema } from '../src/schema.ts';

// `.env.example` is the operator's reference: every variable in it is read, does what its comment
// says, and shows its default. What a comment promises about parsing is checked here; where it
// promises behaviour, `behaviour` names the test that shows it (and this file checks that the
// test exists, so the index cannot point at nothing).
const root = new URL('../../../', import.meta.url);
const example = readFileSync(new URL('.env.example', root), 'utf8');
/** Variables of the example, commented-out ones (`# NAME=value`) included. */
const documented = new Map(
  [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]),
);

const minimal = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/calgate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  SECRETS_ENCRYPTION_KEY: 'a'.repeat(64),
  CALCOM_WEBHOOK_SECRET: 'x'.repeat(16),
};
const withVar = (name: string, value: string): Config => loadConfig({ ...minimal, [name]: value });
const rejects = (name: string, value: string) => expect(() => withVar(name, value)).toThrow(name);

interface SettingPromise {
  /** The comment's promise about parsing, as assertions on the config. */
  config: () => void;
  /** The test that shows the promised behaviour: [file from the repository root, test title]. */
  behaviour?: [string, string];
}

const PROMISES: Record<string, SettingPromise> = {
  CALCOM_API_KEY: {
    config: () => {
      expect(withVar('CALCOM_API_KEY', 'cal_test_abc').calcom.apiKey).toBe('cal_test_abc');
      expect(withVar('CALCOM_API_KEY', '').calcom.apiKey).toBeUndefined();
      rejects('CALCOM_API_KEY', 'sk_live_abc');
    },
    behaviour: [
      'tests/booking-lifecycle.test.ts',
      'books with Prefer: wait and answers 201 with the confirmed appointment',
    ],
  },
  CALCOM_API_VERSION: {
    config: () => {
      expect(withVar('CALCOM_API_VERSION', '2024-08-13').calcom.bookingsApiVersion).toBe('2024-08-13');
      rejects('CALCOM_API_VERSION', 'latest');
    },
  },
  CALCOM_WEBHOOK_SECRET: {
    config: () => {
      rejects('CALCOM_WEBHOOK_SECRET', 'short');
      expect(loadConfig({ ...minimal, CALCOM_WEBHOOK_SECRET: '' }).warnings.join()).toMatch(/401/);
    },
    behaviour: [
      'tests/settings.test.ts',
      'warns at startup that deliveries to the default route answer 401, and they do',
    ],
  },
  CALCOM_BASE_URL: {
    config: () => {
      expect(withVar('CALCOM_BASE_URL', 'http://127.0.0.1:5555/v2/').calcom.baseUrl).toBe(
        'http://127.0.0.1:5555/v2',
      );
      rejects('CALCOM_BASE_URL', 'ftp://example.org');
    },
  },
  CALCOM_TIMEOUT: {
    config: () => expect(withVar('CALCOM_TIMEOUT', '7').calcom.timeoutMs).toBe(7_000),
    behaviour: [
      'packages/calcom/test/errors.test.ts',
      'times out as UPSTREAM_TIMEOUT (retryable) and aborts on a signal',
    ],
  },
  CALCOM_MAX_RETRIES: {
    config: () => expect(withVar('CALCOM_MAX_RETRIES', '2').calcom.maxRetries).toBe(2),
    behaviour: [
      'tests/settings.test.ts',
      'makes a retryable failure cost MAX_RETRIES + 1 attempts, then fails the booking',
    ],
  },
  CALCOM_DEBUG: {
    config: () => {
      expect(withVar('CALCOM_DEBUG', 'false').calcom.debug).toBe(false);
      expect(withVar('CALCOM_DEBUG', 'true').calcom.debug).toBe(true);
    },
    behaviour: [
      'tests/settings.test.ts',
      'logs the Cal.com exchanges at LOG_LEVEL=info, with personal data redacted',
    ],
  },
  CALCOM_RATE_LIMIT_PER_MINUTE: {
    config: () => {
      expect(withVar('CALCOM_RATE_LIMIT_PER_MINUTE', '60').calcom.rateLimitPerMinute).toBe(60);
      expect(loadConfig(minimal).calcom.rateLimitPerMinute).toBeLessThan(120);
    },
    behaviour: [
      'tests/resilience.test.ts',
      'holds across two worker processes: never more than the limit per minute',
    ],
  },
  DATABASE_URL: {
    config: () => {
      expect(withVar('DATABASE_URL', 'postgresql://db/x').database.url).toBe('postgresql://db/x');
      rejects('DATABASE_URL', 'mysql://db/x');
    },
  },
  DATABASE_POOL_MAX: { config: () => expect(withVar('DATABASE_POOL_MAX', '4').database.poolMax).toBe(4) },
  REDIS_URL: {
    config: () => {
      expect(withVar('REDIS_URL', 'rediss://cache:6380').redis.url).toBe('rediss://cache:6380');
      rejects('REDIS_URL', 'http://cache');
    },
  },
  QUEUE_PREFIX: {
    config: () => {
      expect(withVar('QUEUE_PREFIX', 'calgate-eu').redis.queuePrefix).toBe('calgate-eu');
      rejects('QUEUE_PREFIX', 'Has:Colon');
    },
    behaviour: ['tests/settings.test.ts', 'puts every queue key in Redis under the prefix'],
  },
  SECRETS_ENCRYPTION_KEY: {
    config: () => {
      expect(
        withVar('SECRETS_ENCRYPTION_KEY', Buffer.alloc(32, 7).toString('base64')).secretsEncryptionKey,
      ).toBeTruthy();
      rejects('SECRETS_ENCRYPTION_KEY', 'a'.repeat(63));
    },
    behaviour: ['packages/db/test/crypto-and-ids.test.ts', 'refuse a tampered value and a wrong key'],
  },
  SECRETS_ENCRYPTION_KEY_VERSION: {
    config: () => {
      const config = withVar('SECRETS_ENCRYPTION_KEY_VERSION', '4');
      expect(config.encryption.currentVersion).toBe(4);
      expect(config.encryption.keys).toEqual([{ version: 4, key: minimal.SECRETS_ENCRYPTION_KEY }]);
      expect(loadConfig(minimal).encryption.currentVersion).toBe(1);
      rejects('SECRETS_ENCRYPTION_KEY_VERSION', '0');
    },
    behaviour: [
      'tests/key-rotation.test.ts',
      're-encrypts every stored secret under the new key, once, and the gateway works with only the new key',
    ],
  },
  SECRETS_ENCRYPTION_KEYS: {
    config: () => {
      const other = 'b'.repeat(64);
      expect(withVar('SECRETS_ENCRYPTION_KEYS', `2:${other}`).encryption.keys).toEqual([
        { version: 1, key: minimal.SECRETS_ENCRYPTION_KEY },
        { version: 2, key: other },
      ]);
      rejects('SECRETS_ENCRYPTION_KEYS', `2:short`);
      rejects('SECRETS_ENCRYPTION_KEYS', other);
      rejects('SECRETS_ENCRYPTION_KEYS', `1:${other}`);
    },
    behaviour: [
      'packages/db/test/keyring.test.ts',
      'opens values of every version it holds and seals under the current one',
    ],
  },
  NEGATIVE_CACHE_SECONDS: {
    config: () => {
      expect(loadConfig(minimal).limits.negativeCacheMs).toBe(5_000);
      expect(withVar('NEGATIVE_CACHE_SECONDS', '0').limits.negativeCacheMs).toBe(0);
      rejects('NEGATIVE_CACHE_SECONDS', '301');
    },
    behaviour: [
      'tests/negative-lookups.test.ts',
      'costs one query however often it comes, and a token change forgets it',
    ],
  },
  HOST: { config: () => expect(withVar('HOST', '0.0.0.0').http.host).toBe('0.0.0.0') },
  PORT: {
    config: () => {
      expect(withVar('PORT', '8080').http.port).toBe(8080);
      rejects('PORT', '70000');
    },
  },
  BODY_LIMIT_BYTES: {
    config: () => expect(withVar('BODY_LIMIT_BYTES', '2048').http.bodyLimitBytes).toBe(2048),
    behaviour: [
      'tests/reliability/hostile-input.test.ts',
      'huge and wrongly typed payloads get clear 4xx answers',
    ],
  },
  PUBLIC_BASE_URL: {
    config: () =>
      expect(withVar('PUBLIC_BASE_URL', 'https://gw.example.org/').http.publicBaseUrl).toBe(
        'https://gw.example.org',
      ),
    behaviour: [
      'tests/sync.test.ts',
      'reports healthy once event types are synced and the webhook is registered',
    ],
  },
  WORKER_CONCURRENCY: { config: () => expect(withVar('WORKER_CONCURRENCY', '3').worker.concurrency).toBe(3) },
  COMPENSATION_ATTEMPTS: {
    config: () => expect(withVar('COMPENSATION_ATTEMPTS', '2').worker.compensationAttempts).toBe(2),
    behaviour: [
      'tests/compensation-exhausted.test.ts',
      'is flagged, stays visible as a failed job, and an operator retry finishes it',
    ],
  },
  WORKER_LOCK_DURATION_MS: {
    config: () => expect(withVar('WORKER_LOCK_DURATION_MS', '2000').worker.lockDurationMs).toBe(2000),
    behaviour: ['tests/resilience.test.ts', 'ends with exactly one booking, adopted by the next worker'],
  },
  SWEEP_INTERVAL_SECONDS: {
    config: () => expect(withVar('SWEEP_INTERVAL_SECONDS', '2').worker.sweepIntervalMs).toBe(2000),
    behaviour: [
      'tests/settings.test.ts',
      'schedule the syncs every so many minutes, and 0 turns a schedule off',
    ],
  },
  WORKER_METRICS_PORT: {
    config: () => {
      expect(withVar('WORKER_METRICS_PORT', '9464').worker.metricsPort).toBe(9464);
      expect(withVar('WORKER_METRICS_PORT', '').worker.metricsPort).toBeUndefined();
    },
    behaviour: ['tests/log-volume.test.ts', 'log bytes per booking'],
  },
  AVAILABILITY_CACHE_TTL_SECONDS: {
    config: () =>
      expect(withVar('AVAILABILITY_CACHE_TTL_SECONDS', '60').availability.cacheTtlSeconds).toBe(60),
    behaviour: [
      'tests/availability-cache.test.ts',
      'coalesces concurrent identical misses into one Cal.com call per event type, then serves hits',
    ],
  },
  EVENT_TYPE_SYNC_INTERVAL_MINUTES: {
    config: () =>
      expect(withVar('EVENT_TYPE_SYNC_INTERVAL_MINUTES', '0').sync.eventTypesEveryMinutes).toBe(0),
    behaviour: [
      'tests/settings.test.ts',
      'schedule the syncs every so many minutes, and 0 turns a schedule off',
    ],
  },
  RECONCILE_INTERVAL_MINUTES: {
    config: () => expect(withVar('RECONCILE_INTERVAL_MINUTES', '0').sync.reconcileEveryMinutes).toBe(0),
    behaviour: [
      'tests/settings.test.ts',
      'schedule the syncs every so many minutes, and 0 turns a schedule off',
    ],
  },
  HEALTH_PROBE_TTL_SECONDS: {
    config: () => expect(withVar('HEALTH_PROBE_TTL_SECONDS', '5').sync.healthProbeTtlSeconds).toBe(5),
    behaviour: [
      'tests/sync.test.ts',
      'spends at most two Cal.com calls per probe lifetime, however often it is asked',
    ],
  },
  ADMIN_USERNAME: {
    config: () => expect(() => withVar('ADMIN_USERNAME', 'ops')).toThrow('set together'),
    behaviour: [
      'tests/operations.test.ts',
      'refuses the dashboard and metrics without credentials or with wrong ones',
    ],
  },
  ADMIN_PASSWORD: {
    config: () => rejects('ADMIN_PASSWORD', 'short'),
    behaviour: [
      'tests/operations.test.ts',
      'refuses the dashboard and metrics without credentials or with wrong ones',
    ],
  },
  NODE_OPTIONS: {
    // Read by Node itself, not by our config: the heap limit it sets is checked by running Node.
    config: () => expect(documented.get('NODE_OPTIONS')).toMatch(/--max-old-space-size=\d+/),
    behaviour: ['packages/config/test/env-example.test.ts', 'NODE_OPTIONS limits the heap of a Node process'],
  },
  OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: {
    config: () => {
      expect(loadConfig(minimal).outbound.allowPrivate).toBe(false);
      expect(withVar('OUTBOUND_WEBHOOKS_ALLOW_PRIVATE', 'true').outbound.allowPrivate).toBe(true);
    },
    behaviour: [
      'tests/outbound-webhooks.test.ts',
      'refuses a private address again at delivery time, before connecting',
    ],
  },
  OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: {
    config: () => {
      expect(withVar('OUTBOUND_WEBHOOKS_RETRY_SCHEDULE', '1s,2m,3h').outbound.retryScheduleMs).toEqual([
        1_000, 120_000, 10_800_000,
      ]);
      rejects('OUTBOUND_WEBHOOKS_RETRY_SCHEDULE', 'soon');
    },
    behaviour: [
      'tests/outbound-webhooks-delivery.test.ts',
      'receives every event afterwards exactly once per event id, in order per appointment',
    ],
  },
  OUTBOUND_WEBHOOKS_TIMEOUT_SECONDS: {
    config: () => expect(withVar('OUTBOUND_WEBHOOKS_TIMEOUT_SECONDS', '5').outbound.timeoutMs).toBe(5_000),
  },
  OUTBOUND_WEBHOOKS_DISABLE_AFTER_FAILURES: {
    config: () =>
      expect(withVar('OUTBOUND_WEBHOOKS_DISABLE_AFTER_FAILURES', '3').outbound.disableAfterFailures).toBe(3),
    behaviour: [
      'tests/outbound-webhooks-delivery.test.ts',
      'is disabled, keeps its events, and sends them in order once an operator re-enables it',
    ],
  },
  OUTBOUND_WEBHOOKS_DISABLE_AFTER_HOURS: {
    config: () =>
      expect(withVar('OUTBOUND_WEBHOOKS_DISABLE_AFTER_HOURS', '2').outbound.disableAfterMs).toBe(7_200_000),
    behaviour: [
      'tests/outbound-webhooks-delivery.test.ts',
      'is disabled, keeps its events, and sends them in order once an operator re-enables it',
    ],
  },
  OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: {
    config: () =>
      expect(withVar('OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS', '250').outbound.relayIntervalMs).toBe(250),
  },
  PHONE_DEFAULT_REGION: {
    config: () => {
      expect(withVar('PHONE_DEFAULT_REGION', 'DE').phone.defaultRegion).toBe('DE');
      expect(loadConfig(minimal).phone.defaultRegion).toBeUndefined();
      rejects('PHONE_DEFAULT_REGION', 'Germany');
    },
    behaviour: [
      'tests/phone-customers.test.ts',
      'is the same customer when the number is spelt another way, and found by any spelling',
    ],
  },
  HOLD_DEFAULT_TTL_SECONDS: {
    config: () => {
      expect(withVar('HOLD_DEFAULT_TTL_SECONDS', '120').holds.defaultTtlSeconds).toBe(120);
      rejects('HOLD_DEFAULT_TTL_SECONDS', '901');
    },
    behaviour: [
      'tests/holds.test.ts',
      'is created with an expiry, reserved in Cal.com, read back, and released',
    ],
  },
  HOLD_MIN_TTL_SECONDS: {
    config: () => expect(withVar('HOLD_MIN_TTL_SECONDS', '1').holds.minTtlSeconds).toBe(1),
    behaviour: [
      'tests/holds.test.ts',
      'frees the slot in Cal.com and here: the reservation is deleted and another caller books it',
    ],
  },
  AVAILABILITY_MAX_DAYS_AHEAD: {
    config: () => {
      expect(withVar('AVAILABILITY_MAX_DAYS_AHEAD', '30').availability.maxDaysAhead).toBe(30);
      rejects('AVAILABILITY_MAX_DAYS_AHEAD', '0');
    },
    behaviour: [
      'tests/limits.test.ts',
      'answers 400 naming end for an availability window past AVAILABILITY_MAX_DAYS_AHEAD',
    ],
  },
  API_RATE_LIMIT_PER_MINUTE: {
    config: () => expect(withVar('API_RATE_LIMIT_PER_MINUTE', '60').limits.ratePerMinute).toBe(60),
    behaviour: [
      'tests/limits.test.ts',
      'holds a company to its own limit across API processes, and leaves other companies alone',
    ],
  },
  API_RATE_LIMIT_BURST: {
    config: () => expect(withVar('API_RATE_LIMIT_BURST', '7').limits.burst).toBe(7),
    behaviour: [
      'packages/budget/test/token-bucket.test.ts',
      'grants a burst, then refuses with the wait until the next token',
    ],
  },
  MAX_WAITERS_PER_COMPANY: {
    config: () => expect(withVar('MAX_WAITERS_PER_COMPANY', '0').limits.waitersPerCompany).toBe(0),
    behaviour: [
      'tests/limits.test.ts',
      'holds at most MAX_WAITERS_PER_COMPANY waiting requests; the next is answered at once',
    ],
  },
  RETENTION_WEBHOOK_INBOX_DAYS: {
    config: () => expect(withVar('RETENTION_WEBHOOK_INBOX_DAYS', '0').retention.webhookInboxDays).toBe(0),
    behaviour: [
      'tests/retention.test.ts',
      'deletes finished deliveries and settled history past their days, and nothing else',
    ],
  },
  RETENTION_APPOINTMENT_HISTORY_DAYS: {
    config: () =>
      expect(withVar('RETENTION_APPOINTMENT_HISTORY_DAYS', '90').retention.appointmentHistoryDays).toBe(90),
    behaviour: [
      'tests/retention.test.ts',
      'deletes finished deliveries and settled history past their days, and nothing else',
    ],
  },
  RETENTION_HOLDS_DAYS: {
    config: () => expect(withVar('RETENTION_HOLDS_DAYS', '7').retention.holdDays).toBe(7),
    behaviour: [
      'tests/retention.test.ts',
      'deletes ended holds and delivered outbound events past their days',
    ],
  },
  RETENTION_OUTBOUND_DAYS: {
    config: () => expect(withVar('RETENTION_OUTBOUND_DAYS', '0').retention.outboundDays).toBe(0),
    behaviour: [
      'tests/retention.test.ts',
      'deletes ended holds and delivered outbound events past their days',
    ],
  },
  SANDBOX_PORT: {
    // Read by the demo (pnpm start) only; the demo scripts move it to a spare port.
    config: () =>
      expect(readFileSync(new URL('packages/demo/src/dev.ts', root), 'utf8')).toContain(
        'Number(process.env.SANDBOX_PORT ?? 5555)',
      ),
    behaviour: ['scripts/test/against-demo.sh', 'SANDBOX_PORT:-5590'],
  },
  DEMO_RECEIVER_PORT: {
    config: () =>
      expect(readFileSync(new URL('packages/demo/src/dev.ts', root), 'utf8')).toContain(
        'Number(process.env.DEMO_RECEIVER_PORT ?? 5556)',
      ),
    behaviour: [
      'scripts/test/against-demo.sh',
      "the demo's upstream receiver got a signed appointment.confirmed",
    ],
  },
  POSTGRES_PASSWORD: {
    // Read by docker-compose.yml only (the compose file's PostgreSQL and its DATABASE_URL).
    config: () => {
      const compose = readFileSync(new URL('docker-compose.yml', root), 'utf8');
      expect(compose).toContain('POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?');
      expect(compose).toContain('postgres://calgate:${POSTGRES_PASSWORD:?');
      expect(compose).not.toMatch(/POSTGRES_PASSWORD: calgate/);
    },
  },
  NODE_ENV: {
    config: () => {
      expect(withVar('NODE_ENV', 'production').env).toBe('production');
      rejects('NODE_ENV', 'staging');
    },
  },
  LOG_LEVEL: {
    config: () => {
      expect(withVar('LOG_LEVEL', 'debug').logLevel).toBe('debug');
      rejects('LOG_LEVEL', 'verbose');
    },
    behaviour: ['tests/log-volume.test.ts', 'log bytes per booking'],
  },
  LOG_PERSONAL_DATA: {
    config: () => {
      expect(loadConfig(minimal).logPersonalData).toBe(false);
      expect(withVar('LOG_PERSONAL_DATA', 'true').logPersonalData).toBe(true);
      rejects('LOG_PERSONAL_DATA', 'maybe');
    },
    behaviour: [
      'tests/log-privacy.test.ts',
      "logs a failed query's SQLSTATE and statement, never its values",
    ],
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    config: () => {
      expect(loadConfig(minimal).tracing).toBe(false);
      expect(withVar('OTEL_EXPORTER_OTLP_ENDPOINT', 'http://127.0.0.1:4318').tracing).toBe(true);
    },
    behaviour: [
      'tests/operations.test.ts',
      'follows one booking in one trace: API request, queue, worker, Cal.com call',
    ],
  },
};

/** In the example for other programs: Node itself, and docker-compose.yml. */
const NOT_OURS = ['NODE_OPTIONS', 'POSTGRES_PASSWORD', 'SANDBOX_PORT', 'DEMO_RECEIVER_PORT'];

/** Read by the schema but left out of the example on purpose. */
const UNDOCUMENTED = {
  CALCOM_RETRY_ATTEMPTS: 'the deprecated name of CALCOM_MAX_RETRIES (named in its comment)',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:
    'standard OpenTelemetry variable, an alternative to OTEL_EXPORTER_OTLP_ENDPOINT',
  OTEL_TRACES_EXPORTER: 'standard OpenTelemetry variable',
};

describe('.env.example', () => {
  it('lists every variable the configuration reads, and only those', () => {
    const read = Object.keys(envSchema.shape);
    const listed = [...documented.keys()].filter((name) => !NOT_OURS.includes(name));
    expect(listed.filter((name) => !read.includes(name))).toEqual([]);
    expect(read.filter((name) => !documented.has(name) && !(name in UNDOCUMENTED))).toEqual([]);
  });

  it('shows each default: the example as written is the default configuration', () => {
    // Commented-out variables (`# NAME=value`) are examples of a value, not defaults.
    const values = Object.fromEntries(
      [...example.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)]
        .map((m) => [m[1] as string, m[2] as string])
        .filter(([name]) => !NOT_OURS.includes(name as string)),
    );
    const fromExample = loadConfig({ ...values, ...minimal });
    expect(fromExample).toEqual(loadConfig(minimal));
  });

  it('has a checked promise for every variable', () => {
    expect([...documented.keys()].filter((name) => PROMISES[name] === undefined)).toEqual([]);
  });

  it.each(Object.entries(PROMISES))('%s does what its comment says', (name, promise) => {
    expect(documented.has(name)).toBe(true);
    promise.config();
    if (promise.behaviour !== undefined) {
      const [file, title] = promise.behaviour;
      const url = new URL(file, root);
      expect(existsSync(url), file).toBe(true);
      expect(readFileSync(url, 'utf8'), `${file} has no test "${title}"`).toContain(title);
    }
  });

  it('NODE_OPTIONS limits the heap of a Node process', async () => {
    const { execFileSync } = await import('node:child_process');
    const options = documented.get('NODE_OPTIONS') as string;
    const limitMb = Number(
      execFileSync(
        process.execPath,
        [
          '-e',
          'process.stdout.write(String(require("node:v8").getHeapStatistics().heap_size_limit / 2 ** 20))',
        ],
        { env: { ...process.env, NODE_OPTIONS: options } },
      ).toString(),
    );
    const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1]);
    expect(limitMb).toBeGreaterThanOrEqual(oldSpace);
    expect(limitMb).toBeLessThan(oldSpace + 64);
  });
});
