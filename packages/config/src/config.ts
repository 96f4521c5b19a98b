import { resolveFileSecrets } from './file-secrets.ts';
import type { OperatorCredentials } from './operator.ts';
import { type Env, envSchema } from './schema.ts';

/** Typed, grouped configuration derived from the environment. */
export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  /** Whether log lines may carry customers' personal data (a debugging setting; off by default). */
  logPersonalData: boolean;
  calcom: {
    /** The env default key; a company's own key takes precedence. */
    apiKey: string | undefined;
    bookingsApiVersion: string;
    webhookSecret: string | undefined;
    baseUrl: string;
    timeoutMs: number;
    /** Retries of a retryable failure after the first attempt (attempts = maxRetries + 1). */
    maxRetries: number;
    debug: boolean;
    rateLimitPerMinute: number;
  };
  database: { url: string; poolMax: number };
  redis: { url: string; queuePrefix: string };
  /** SECRETS_ENCRYPTION_KEY: the current key (the one that encrypts). */
  secretsEncryptionKey: string;
  /**
   * Every key that decrypts, by version; values are encrypted under `currentVersion`. Turned into
   * key bytes once per process (`keyringFrom` of `@calgate/db`, in the domain runtime).
   */
  encryption: { currentVersion: number; keys: Array<{ version: number; key: string }> };
  http: { host: string; port: number; bodyLimitBytes: number; publicBaseUrl: string | undefined };
  worker: {
    concurrency: number;
    /** How long a job's lock lasts; a killed worker's jobs are taken over after about this long. */
    lockDurationMs: number;
    /** Attempts of a compensation job (capped exponential backoff, at most a minute apart). */
    compensationAttempts: number;
    /** Port of the worker's own /metrics; unset: no metrics server. */
    metricsPort: number | undefined;
    /** How often the sweeper re-enqueues work Postgres holds but Redis lost. */
    sweepIntervalMs: number;
  };
  availability: {
    cacheTtlSeconds: number;
    /** How far ahead an availability window may reach (each new day costs Cal.com calls). */
    maxDaysAhead: number;
  };
  /** Days finished rows are kept (0: forever); a daily job deletes the rest. */
  retention: {
    webhookInboxDays: number;
    appointmentHistoryDays: number;
    holdDays: number;
    outboundDays: number;
  };
  /** Our own API's limits per company (a company's own setting overrides the rate). */
  limits: {
    /** Requests per minute per company on /api/v2, shared by every API process. */
    ratePerMinute: number;
    burst: number;
    /** `Prefer: wait` requests one API process holds at once per company; more are answered at once. */
    waitersPerCompany: number;
    /**
     * How long an unknown API token, an unknown company or a bad signature on a company's webhook
     * URL is answered 401 from memory (no query, no decryption); 0 turns it off.
     */
    negativeCacheMs: number;
  };
  /** Slot holds (`POST /api/v2/holds`): the lifetime when the caller names none, and the shortest allowed. */
  holds: { defaultTtlSeconds: number; minTtlSeconds: number };
  /** Country whose national spelling a phone without a country code is read in; unset: + is required. */
  phone: { defaultRegion: string | undefined };
  sync: { eventTypesEveryMinutes: number; reconcileEveryMinutes: number; healthProbeTtlSeconds: number };
  admin: OperatorCredentials | undefined;
  /** Outbound webhooks: appointment changes delivered to upstream systems' endpoints. */
  outbound: {
    /** Whether endpoints may resolve to loopback and private addresses (tests, the demo). */
    allowPrivate: boolean;
    /** The delays between attempts of one delivery; attempts are one more than its length. */
    retryScheduleMs: number[];
    timeoutMs: number;
    /** An endpoint is disabled when this many attempts in a row failed ... */
    disableAfterFailures: number;
    /** ... and the first of them is at least this old. */
    disableAfterMs: number;
    /** How often the relay moves new events from the outbox to the delivery queue. */
    relayIntervalMs: number;
  };
  /**
   * Whether traces are exported (an OTLP endpoint or another OTEL_TRACES_EXPORTER is configured).
   * Without it the request and queue instrumentation is not installed at all.
   */
  tracing: boolean;
  /**
   * What a service warns about at startup: settings that work but will surprise an operator (a
   * deprecated name, a missing webhook secret). Never contains a value.
   */
  warnings: readonly string[];
}

/** Retries when neither CALCOM_MAX_RETRIES nor its old name is set. */
export const DEFAULT_MAX_RETRIES = 3;

/** One line per bad variable, naming it. Never echoes the value (it may be a secret). */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parses and validates the environment.
 * @throws ConfigError naming every invalid or missing variable.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // An empty value (`NAME=` in a .env file) means "not set", never an empty string or secret.
  const files = resolveFileSecrets(source, new Set(Object.keys(envSchema.shape)));
  if (files.problems.length > 0) throw new ConfigError(files.problems);
  const present = Object.fromEntries(Object.entries(files.env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const message =
        issue.code === 'invalid_type' && present[name] === undefined ? 'is required' : issue.message;
      return `${name} ${message}`;
    });
    throw new ConfigError(problems);
  }
  const env = parsed.data;
  const problems: string[] = [];
  if ((env.ADMIN_USERNAME === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
    problems.push('ADMIN_USERNAME and ADMIN_PASSWORD must be set together');
  }
  const encryption = encryptionKeys(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const warnings = startupWarnings(env);

  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    logPersonalData: env.LOG_PERSONAL_DATA,
    calcom: {
      apiKey: env.CALCOM_API_KEY,
      bookingsApiVersion: env.CALCOM_API_VERSION,
      webhookSecret: env.CALCOM_WEBHOOK_SECRET,
      baseUrl: env.CALCOM_BASE_URL.replace(/\/+$/, ''),
      timeoutMs: env.CALCOM_TIMEOUT * 1000,
      maxRetries: env.CALCOM_MAX_RETRIES ?? env.CALCOM_RETRY_ATTEMPTS ?? DEFAULT_MAX_RETRIES,
      debug: env.CALCOM_DEBUG,
      rateLimitPerMinute: env.CALCOM_RATE_LIMIT_PER_MINUTE,
    },
    database: { url: env.DATABASE_URL, poolMax: env.DATABASE_POOL_MAX },
    redis: { url: env.REDIS_URL, queuePrefix: env.QUEUE_PREFIX },
    secretsEncryptionKey: env.SECRETS_ENCRYPTION_KEY,
    encryption,
    http: {
      host: env.HOST,
      port: env.PORT,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      publicBaseUrl: env.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    },
    worker: {
      concurrency: env.WORKER_CONCURRENCY,
      lockDurationMs: env.WORKER_LOCK_DURATION_MS,
      compensationAttempts: env.COMPENSATION_ATTEMPTS,
      metricsPort: env.WORKER_METRICS_PORT,
      sweepIntervalMs: env.SWEEP_INTERVAL_SECONDS * 1000,
    },
    availability: {
      cacheTtlSeconds: env.AVAILABILITY_CACHE_TTL_SECONDS,
      maxDaysAhead: env.AVAILABILITY_MAX_DAYS_AHEAD,
    },
    retention: {
      webhookInboxDays: env.RETENTION_WEBHOOK_INBOX_DAYS,
      appointmentHistoryDays: env.RETENTION_APPOINTMENT_HISTORY_DAYS,
      holdDays: env.RETENTION_HOLDS_DAYS,
      outboundDays: env.RETENTION_OUTBOUND_DAYS,
    },
    limits: {
      ratePerMinute: env.API_RATE_LIMIT_PER_MINUTE,
      burst: env.API_RATE_LIMIT_BURST,
      waitersPerCompany: env.MAX_WAITERS_PER_COMPANY,
      negativeCacheMs: env.NEGATIVE_CACHE_SECONDS * 1000,
    },
    holds: {
      defaultTtlSeconds: Math.max(env.HOLD_DEFAULT_TTL_SECONDS, env.HOLD_MIN_TTL_SECONDS),
      minTtlSeconds: env.HOLD_MIN_TTL_SECONDS,
    },
    phone: { defaultRegion: env.PHONE_DEFAULT_REGION },
    sync: {
      eventTypesEveryMinutes: env.EVENT_TYPE_SYNC_INTERVAL_MINUTES,
      reconcileEveryMinutes: env.RECONCILE_INTERVAL_MINUTES,
      healthProbeTtlSeconds: env.HEALTH_PROBE_TTL_SECONDS,
    },
    outbound: {
      allowPrivate: env.OUTBOUND_WEBHOOKS_ALLOW_PRIVATE,
      retryScheduleMs: parseDelays(env.OUTBOUND_WEBHOOKS_RETRY_SCHEDULE),
      timeoutMs: env.OUTBOUND_WEBHOOKS_TIMEOUT_SECONDS * 1000,
      disableAfterFailures: env.OUTBOUND_WEBHOOKS_DISABLE_AFTER_FAILURES,
      disableAfterMs: Math.round(env.OUTBOUND_WEBHOOKS_DISABLE_AFTER_HOURS * 3_600_000),
      relayIntervalMs: env.OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS,
    },
    tracing:
      env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined ||
      env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined ||
      (env.OTEL_TRACES_EXPORTER !== undefined && env.OTEL_TRACES_EXPORTER !== 'none'),
    admin:
      env.ADMIN_USERNAME !== undefined && env.ADMIN_PASSWORD !== undefined
        ? { username: env.ADMIN_USERNAME, password: env.ADMIN_PASSWORD }
        : undefined,
    warnings,
  };
}

function encryptionKeys(env: Env, problems: string[]): Config['encryption'] {
  const currentVersion = env.SECRETS_ENCRYPTION_KEY_VERSION;
  const keys = [{ version: currentVersion, key: env.SECRETS_ENCRYPTION_KEY }];
  for (const entry of env.SECRETS_ENCRYPTION_KEYS?.split(',') ?? []) {
    const [, version, key] = /^\s*(\d+):(\S+)\s*$/.exec(entry) as RegExpExecArray;
    const existing = keys.find((k) => k.version === Number(version));
    if (existing === undefined) keys.push({ version: Number(version), key: key as string });
    else if (existing.key !== key) {
      problems.push(
        `SECRETS_ENCRYPTION_KEYS names version ${version} twice or with another key than SECRETS_ENCRYPTION_KEY; one key per version`,
      );
    }
  }
  return { currentVersion, keys };
}

function startupWarnings(env: Env): string[] {
  const warnings: string[] = [];
  if (env.CALCOM_RETRY_ATTEMPTS !== undefined) {
    warnings.push(
      env.CALCOM_MAX_RETRIES === undefined
        ? 'CALCOM_RETRY_ATTEMPTS is deprecated: rename it to CALCOM_MAX_RETRIES (same meaning: retries after the first attempt)'
        : 'CALCOM_RETRY_ATTEMPTS is deprecated and ignored because CALCOM_MAX_RETRIES is set: remove it',
    );
  }
  if (env.CALCOM_WEBHOOK_SECRET === undefined) {
    warnings.push(
      'CALCOM_WEBHOOK_SECRET is not set: every Cal.com delivery to POST /api/webhooks/calcom will be ' +
        'answered 401 and dropped (only companies with their own secret, on /api/webhooks/calcom/:companyId, get webhooks)',
    );
  }
  return warnings;
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** `5s,5m,2h` -> milliseconds (the schema has checked the shape). */
function parseDelays(list: string): number[] {
  return list.split(',').map((item) => {
    const [, amount, unit] = /^\s*(\d+)(ms|s|m|h)\s*$/.exec(item) as RegExpExecArray;
    return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  });
}

/**
 * For service entry points: the config, or a message naming each bad variable on stderr and exit code 1.
 */
export function loadConfigOrExit(source: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(source);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee .env.example for every variable and its meaning.\n`);
      process.exit(1);
    }
    throw error;
  }
}
