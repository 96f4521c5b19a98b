import { z } from 'zod';

/** Booleans are parsed explicitly: `z.coerce.boolean()` would read "false" as true. */
const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be one of true, false, 1, 0, yes, no' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

function isEncryptionKey(value: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(value) || Buffer.from(value, 'base64').length === 32;
}

const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);

const url = (protocols: readonly string[]) =>
  z
    .url({ message: `must be a URL (${protocols.join(', ')})` })
    .refine((value) => protocols.some((protocol) => value.startsWith(`${protocol}://`)), {
      message: `must start with ${protocols.map((p) => `${p}://`).join(' or ')}`,
    });

const optionalSecret = (minLength: number) =>
  z
    .string()
    .min(minLength, { message: `must be at least ${minLength} characters` })
    .optional();

/**
 * Every environment variable the gateway reads. Parsed once at startup; see `.env.example`
 * for what each one means. Secrets have no defaults.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_PERSONAL_DATA: booleanFlag.default(false),

  CALCOM_API_KEY: z
    .string()
    .regex(/^cal_[A-Za-z0-9_]+$/, { message: 'must be a Cal.com API key (starts with cal_)' })
    .optional(),
  CALCOM_API_VERSION: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date like 2024-08-13' })
    .default('2024-08-13'),
  CALCOM_WEBHOOK_SECRET: optionalSecret(16),
  CALCOM_BASE_URL: url(['https', 'http']).default('https://api.cal.com/v2'),
  CALCOM_TIMEOUT: positiveInt(300).default(30),
  /** Retries after the first attempt: a retried job makes at most CALCOM_MAX_RETRIES + 1 attempts. */
  CALCOM_MAX_RETRIES: z.coerce.number().int().min(0).max(20).optional(),
  /** @deprecated The old name of CALCOM_MAX_RETRIES (it always counted retries, not attempts). */
  CALCOM_RETRY_ATTEMPTS: z.coerce.number().int().min(0).max(20).optional(),
  CALCOM_DEBUG: booleanFlag.default(false),
  CALCOM_RATE_LIMIT_PER_MINUTE: positiveInt(1_000_000).default(100),

  DATABASE_URL: url(['postgres', 'postgresql']),
  DATABASE_POOL_MAX: positiveInt(100).default(10),
  REDIS_URL: url(['redis', 'rediss']),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9-]+$/, { message: 'must be lowercase letters, digits and dashes' })
    .default('calgate'),

  SECRETS_ENCRYPTION_KEY: z.string().refine(isEncryptionKey, {
    message: 'must be 32 bytes as 64 hex characters or base64 (openssl rand -hex 32)',
  }),
  /** The version SECRETS_ENCRYPTION_KEY is known by: stored values name the version that encrypted them. */
  SECRETS_ENCRYPTION_KEY_VERSION: positiveInt(1_000_000).default(1),
  /** Other keys that still decrypt (older ones, or the next one before it becomes current): `2:<key>,3:<key>`. */
  SECRETS_ENCRYPTION_KEYS: z
    .string()
    .refine(
      (value) =>
        value.split(',').every((entry) => {
          const match = /^\s*(\d{1,7}):(\S+)\s*$/.exec(entry);
          return match !== null && Number(match[1]) >= 1 && isEncryptionKey(match[2] as string);
        }),
      {
        message: 'must be a comma-separated list of <version>:<key> (each key 32 bytes as 64 hex or base64)',
      },
    )
    .optional(),

  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  BODY_LIMIT_BYTES: positiveInt(10 * 1024 * 1024).default(1024 * 1024),
  PUBLIC_BASE_URL: url(['https', 'http']).optional(),

  WORKER_CONCURRENCY: positiveInt(200).default(10),
  COMPENSATION_ATTEMPTS: positiveInt(1000).default(25),
  SWEEP_INTERVAL_SECONDS: positiveInt(3600).default(30),
  WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  AVAILABILITY_CACHE_TTL_SECONDS: positiveInt(86_400).default(300),
  RETENTION_WEBHOOK_INBOX_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  RETENTION_APPOINTMENT_HISTORY_DAYS: z.coerce.number().int().min(0).max(36_500).default(730),
  RETENTION_HOLDS_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  RETENTION_OUTBOUND_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  AVAILABILITY_MAX_DAYS_AHEAD: positiveInt(3650).default(365),
  API_RATE_LIMIT_PER_MINUTE: positiveInt(1_000_000).default(600),
  API_RATE_LIMIT_BURST: positiveInt(1_000_000).default(100),
  /** Seconds an unknown API token, or a bad signature on a company's webhook URL, is answered from memory. */
  NEGATIVE_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  MAX_WAITERS_PER_COMPANY: z.coerce.number().int().min(0).max(10_000).default(20),
  PHONE_DEFAULT_REGION: z
    .string()
    .regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 country code, e.g. DE' })
    .optional(),
  EVENT_TYPE_SYNC_INTERVAL_MINUTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .default(30),
  RECONCILE_INTERVAL_MINUTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .default(5),
  HEALTH_PROBE_TTL_SECONDS: positiveInt(3600).default(60),
  HOLD_DEFAULT_TTL_SECONDS: positiveInt(900).default(300),
  HOLD_MIN_TTL_SECONDS: positiveInt(900).default(60),

  OTEL_EXPORTER_OTLP_ENDPOINT: url(['https', 'http']).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(['https', 'http']).optional(),
  OTEL_TRACES_EXPORTER: z.string().min(1).optional(),

  OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: booleanFlag.default(false),
  OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: z
    .string()
    .regex(/^\s*\d+(ms|s|m|h)\s*(,\s*\d+(ms|s|m|h)\s*)*$/, {
      message: 'must be a comma-separated list of delays like 5s,5m,30m,2h (units ms, s, m, h)',
    })
    .default('5s,5m,30m,2h,5h,10h,14h'),
  OUTBOUND_WEBHOOKS_TIMEOUT_SECONDS: positiveInt(60).default(15),
  OUTBOUND_WEBHOOKS_DISABLE_AFTER_FAILURES: positiveInt(1_000_000).default(30),
  OUTBOUND_WEBHOOKS_DISABLE_AFTER_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 365)
    .default(24),
  OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),

  ADMIN_USERNAME: z.string().min(1).optional(),
  ADMIN_PASSWORD: optionalSecret(12),
});

export type Env = z.infer<typeof envSchema>;
