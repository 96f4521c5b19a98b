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
      // Dated by the server's clock (a test process's clock may be moved by libfaketime).
      await admin.unsafe(
        `do $$ begin execute format('comment on database %I is %L', '${name}', 'calgate test template ' || now()); end $$`,
      );
    }
    // Leftover templates of other migration sets: only those over a day old, because another
    // checkout on this machine (a different branch) may be copying its own template right now.
    const stale = await admin<{ datname: string }[]>`
      select datname from pg_database
      where datname like 'calgate_tpl_%' and datname <> ${name}
        and coalesce(
          substring(shobj_description(oid, 'pg_database') from 'calgate test template (.*)$')::timestamptz,
          '-infinity'
        ) < now() - interval '1 day'`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
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
    const name = `calgate_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    for (let attempt = 1; ; attempt++) {
      templateReady ??= ensureTemplate(admin);
      const template = await templateReady;
      try {
        await admin.unsafe(`create database "${name}" template "${template}"`);
        break;
      } catch (error) {
        // An older checkout's cleanup on this server may have dropped our template: make it again.
        const gone = (error as { code?: string }).code === '3D000';
        if (!gone || attempt >= 3) throw error;
        templateReady = undefined;
      }
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
