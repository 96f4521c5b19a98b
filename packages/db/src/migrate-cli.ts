import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ensureDatabase, runMigrations } from './migrate.ts';

// As `pnpm start` and `pnpm cli` do; a variable already set (compose, CI) wins over the file.
if (existsSync('.env')) process.loadEnvFile('.env');

const parsed = z
  .string({ message: 'is required' })
  .regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// URL' })
  .safeParse(process.env.DATABASE_URL);
if (!parsed.success) {
  process.stderr.write(`Invalid configuration:\n  - DATABASE_URL ${parsed.error.issues[0]?.message}\n`);
  process.exit(1);
}
const url = parsed.data;
const where = new URL(url);
const label = `${where.hostname}:${where.port || 5432}${where.pathname}`;
try {
  const created = await ensureDatabase(url);
  const started = performance.now();
  await runMigrations(url);
  const ms = Math.round(performance.now() - started);
  process.stdout.write(`migrate: ${label} ${created ? 'created and ' : ''}up to date (${ms} ms)\n`);
} catch (error) {
  process.stderr.write(
    `migrate: ${label} failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
