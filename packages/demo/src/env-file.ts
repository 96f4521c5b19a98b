import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Makes sure `.env` exists: on first run it is copied from `.env.example` with fresh secrets
 * filled in (encryption key, webhook secret, dashboard password). Returns true when created.
 */
export function ensureEnvFile(envPath: string, examplePath: string): boolean {
  if (existsSync(envPath)) return false;
  const generated: Record<string, string> = {
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    CALCOM_WEBHOOK_SECRET: randomBytes(24).toString('hex'),
    ADMIN_USERNAME: 'admin',
    ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
    POSTGRES_PASSWORD: randomBytes(16).toString('hex'),
  };
  const text = readFileSync(examplePath, 'utf8')
    .split('\n')
    .map((line) => {
      const match = /^([A-Z0-9_]+)=$/.exec(line);
      const name = match?.[1];
      return name !== undefined && generated[name] !== undefined ? `${name}=${generated[name]}` : line;
    })
    .join('\n');
  writeFileSync(envPath, text, { mode: 0o600 });
  return true;
}
