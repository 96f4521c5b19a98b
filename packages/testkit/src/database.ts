import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDb, type Database, MIGRATIONS_FOLDER, runMigrations } from '@calgate/db';
import postgres from 'postgres';

/** Server the tests create their databases on. */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TEMPLATE_LOCK = 7_353_002;

function urlFor(database: string): string {
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Template name changes whenever a migration file does, so a stale template is never used. */
function templateName(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_FOLDER)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    hash.update(file).update(readFileSync(join(MIGRATIONS_FOLDER, file)));
  }
  return `calgate_tpl_${hash.digest('hex').slice(0, 12)}`;
}

let templateReady: Promise<string> | undefined;

async function ensureTemplate(admin: postgres.Sql): Promise<string> {
  const name = templateName();
  await admin`select pg_advisory_lock(${TEMPLATE_LOCK})`;
  try {
    const exists = await admin`select 1 from pg_database where datname = ${name}`;
    if (exists.length === 0) {
      await admin.unsafe(`create database "${name}"`);
      try {
        await runMigrations(urlFor(name));
      } catch (error) {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
        throw error;
      }
      // Leftovers from earlier runs: other templates and test databases over an hour old.
      const stale = await admin<{ datname: string }[]>`
        select datname from pg_database
        where (datname like 'calgate_tpl_%' and datname <> ${name})`;
      for (const { datname } of stale)
        await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
    return name;
  } finally {
    await admin`select pg_advisory_unlock(${TEMPLATE_LOCK})`;
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  db: Database;
  sql: postgres.Sql;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: copied from a template that is migrated once per
 * set of migration files (under an advisory lock, so parallel test workers don't race).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
  try {
    templateReady ??= ensureTemplate(admin);
    const template = await templateReady;
    const name = `calgate_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    try {
      await admin.unsafe(`create database "${name}" template "${template}"`);
    } catch (error) {
      // Another checkout's run (other migrations) dropped our template as stale: make it again.
      if ((error as { code?: string }).code !== '3D000') throw error;
      templateReady = ensureTemplate(admin);
      await admin.unsafe(`create database "${name}" template "${await templateReady}"`);
    }
    const url = urlFor(name);
    const { db, sql, close } = createDb(url, { max: 5, applicationName: 'calgate-test' });
    return {
      url,
      name,
      db,
      sql,
      async drop() {
        await close();
        const dropper = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
        try {
          await dropper.unsafe(`drop database if exists "${name}" with (force)`);
        } finally {
          await dropper.end({ timeout: 5 });
        }
      },
    };
  } catch (error) {
    templateReady = undefined;
    throw error;
  } finally {
    await admin.end({ timeout: 5 });
  }
}
