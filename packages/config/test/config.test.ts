import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.ts';
import { problemsOf } from './problems.ts';

const minimal = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/calgate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  SECRETS_ENCRYPTION_KEY: 'a'.repeat(64),
};

describe('loadConfig', () => {
  it('applies the original design defaults', () => {
    const config = loadConfig(minimal);
    expect(config.calcom).toMatchObject({
      apiKey: undefined,
      bookingsApiVersion: '2024-08-13',
      baseUrl: 'https://api.cal.com/v2',
      timeoutMs: 30_000,
      maxRetries: 3,
      debug: false,
    });
    expect(config.calcom.rateLimitPerMinute).toBeLessThan(120);
    expect(config.availability.cacheTtlSeconds).toBe(300);
  });

  it('parses booleans explicitly, so "false" stays false', () => {
    expect(loadConfig({ ...minimal, CALCOM_DEBUG: 'false' }).calcom.debug).toBe(false);
    expect(loadConfig({ ...minimal, CALCOM_DEBUG: 'true' }).calcom.debug).toBe(true);
    expect(problemsOf({ ...minimal, CALCOM_DEBUG: 'maybe' })[0]).toMatch(/^CALCOM_DEBUG /);
  });

  it('names every missing required variable', () => {
    const problems = problemsOf({});
    expect(problems.join('\n')).toMatch(/DATABASE_URL is required/);
    expect(problems.join('\n')).toMatch(/REDIS_URL is required/);
    expect(problems.join('\n')).toMatch(/SECRETS_ENCRYPTION_KEY is required/);
  });

  it('names each bad variable without echoing its value', () => {
    const secretLookingValue = 'not_a_cal_key_but_secret';
    const problems = problemsOf({
      ...minimal,
      CALCOM_API_KEY: secretLookingValue,
      CALCOM_TIMEOUT: '-5',
      CALCOM_RATE_LIMIT_PER_MINUTE: '0',
      REDIS_URL: 'http://localhost',
    });
    const text = problems.join('\n');
    for (const name of ['CALCOM_API_KEY', 'CALCOM_TIMEOUT', 'CALCOM_RATE_LIMIT_PER_MINUTE', 'REDIS_URL']) {
      expect(text).toContain(name);
    }
    expect(text).not.toContain(secretLookingValue);
  });

  it('treats an empty Cal.com key as unset and trims the base URL', () => {
    const config = loadConfig({
      ...minimal,
      CALCOM_API_KEY: '',
      CALCOM_BASE_URL: 'http://127.0.0.1:5555/v2/',
    });
    expect(config.calcom.apiKey).toBeUndefined();
    expect(config.calcom.baseUrl).toBe('http://127.0.0.1:5555/v2');
  });

  it('requires admin credentials as a pair', () => {
    expect(problemsOf({ ...minimal, ADMIN_USERNAME: 'ops' })).toEqual([
      'ADMIN_USERNAME and ADMIN_PASSWORD must be set together',
    ]);
    expect(
      loadConfig({ ...minimal, ADMIN_USERNAME: 'ops', ADMIN_PASSWORD: 'long-enough-pass' }).admin,
    ).toEqual({
      username: 'ops',
      password: 'long-enough-pass',
    });
  });

  it('counts CALCOM_MAX_RETRIES as retries after the first attempt', () => {
    expect(loadConfig({ ...minimal, CALCOM_MAX_RETRIES: '0' }).calcom.maxRetries).toBe(0);
    expect(loadConfig({ ...minimal, CALCOM_MAX_RETRIES: '5' }).calcom.maxRetries).toBe(5);
    expect(problemsOf({ ...minimal, CALCOM_MAX_RETRIES: '-1' })[0]).toMatch(/^CALCOM_MAX_RETRIES /);
  });

  it('still accepts the old name CALCOM_RETRY_ATTEMPTS, with a deprecation warning', () => {
    const config = loadConfig({
      ...minimal,
      CALCOM_RETRY_ATTEMPTS: '4',
      CALCOM_WEBHOOK_SECRET: 'x'.repeat(16),
    });
    expect(config.calcom.maxRetries).toBe(4);
    expect(config.warnings).toEqual([
      expect.stringMatching(/CALCOM_RETRY_ATTEMPTS is deprecated: rename it to CALCOM_MAX_RETRIES/),
    ]);
    const both = loadConfig({
      ...minimal,
      CALCOM_RETRY_ATTEMPTS: '4',
      CALCOM_MAX_RETRIES: '1',
      CALCOM_WEBHOOK_SECRET: 'x'.repeat(16),
    });
    expect(both.calcom.maxRetries).toBe(1);
    expect(both.warnings[0]).toMatch(/CALCOM_RETRY_ATTEMPTS is deprecated and ignored/);
  });

  it('warns at startup that without CALCOM_WEBHOOK_SECRET the default webhook route answers 401', () => {
    expect(loadConfig(minimal).warnings).toEqual([
      expect.stringMatching(/^CALCOM_WEBHOOK_SECRET is not set: .*POST \/api\/webhooks\/calcom .*401/),
    ]);
    expect(loadConfig({ ...minimal, CALCOM_WEBHOOK_SECRET: 'x'.repeat(16) }).warnings).toEqual([]);
    expect(problemsOf({ ...minimal, CALCOM_WEBHOOK_SECRET: 'short' })[0]).toMatch(
      /^CALCOM_WEBHOOK_SECRET must be at least 16 characters/,
    );
  });
});

describe('outbound webhooks settings', () => {
  it('retries for more than a day by default and refuses private addresses', () => {
    const { outbound } = loadConfig(minimal);
    expect(outbound.allowPrivate).toBe(false);
    expect(outbound.retryScheduleMs).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000,
    ]);
    expect(outbound.retryScheduleMs.reduce((a, b) => a + b, 0)).toBeGreaterThan(24 * 3_600_000);
  });

  it('reads a schedule in ms, s, m and h and names a bad one', () => {
    const { outbound } = loadConfig({ ...minimal, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '250ms, 2s,1m,1h' });
    expect(outbound.retryScheduleMs).toEqual([250, 2_000, 60_000, 3_600_000]);
    expect(problemsOf({ ...minimal, OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '5 minutes' })[0]).toMatch(
      /^OUTBOUND_WEBHOOKS_RETRY_SCHEDULE /,
    );
    expect(problemsOf({ ...minimal, OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'maybe' })[0]).toMatch(
      /^OUTBOUND_WEBHOOKS_ALLOW_PRIVATE /,
    );
  });
});
