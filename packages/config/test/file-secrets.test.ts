import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.ts';
import { problemsOf } from './problems.ts';

const dir = mkdtempSync(join(tmpdir(), 'calgate-secrets-'));
const secretFile = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const base = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/calgate',
  REDIS_URL: 'redis://127.0.0.1:6379',
};

describe('secrets from files (NAME_FILE)', () => {
  it('reads a variable from the file its _FILE twin names, without the trailing newline', () => {
    const key = 'b'.repeat(64);
    const config = loadConfig({
      ...base,
      SECRETS_ENCRYPTION_KEY_FILE: secretFile('key', `${key}\n`),
      CALCOM_API_KEY_FILE: secretFile('calcom', 'cal_live_from_a_file\n'),
    });
    expect(config.secretsEncryptionKey).toBe(key);
    expect(config.calcom.apiKey).toBe('cal_live_from_a_file');
  });

  it('names the variable when its file cannot be read or both forms are set, never the content', () => {
    expect(problemsOf({ ...base, SECRETS_ENCRYPTION_KEY_FILE: join(dir, 'missing') })).toEqual([
      'SECRETS_ENCRYPTION_KEY_FILE: cannot read the file it names',
    ]);
    const problems = problemsOf({
      ...base,
      SECRETS_ENCRYPTION_KEY: 'c'.repeat(64),
      SECRETS_ENCRYPTION_KEY_FILE: secretFile('twice', 'd'.repeat(64)),
    });
    expect(problems).toEqual([
      'SECRETS_ENCRYPTION_KEY and SECRETS_ENCRYPTION_KEY_FILE are both set; set one of them',
    ]);
    expect(problems.join()).not.toContain('c'.repeat(64));
  });

  it("leaves other programs' _FILE variables alone", () => {
    const config = loadConfig({
      ...base,
      SECRETS_ENCRYPTION_KEY: 'e'.repeat(64),
      SSL_CERT_FILE: join(dir, 'not-ours-and-missing'),
    });
    expect(config.secretsEncryptionKey).toBe('e'.repeat(64));
  });
});
