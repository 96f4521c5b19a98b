import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appointments,
  companies,
  createDb,
  customers,
  type Database,
  ensureDatabase,
  eventTypeMappings,
  idempotencyKeys,
  newId,
  runMigrations,
  serviceSegments,
  services,
  staff,
} from '../src/index.ts';

// This package sits below @calgate/testkit, so it makes its own database with its own functions.
const server = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `calgate_dbtest_${randomBytes(4).toString('hex')}`;
const url = Object.assign(new URL(server), { pathname: `/${name}` }).toString();
let t: { url: string; db: Database; sql: postgres.Sql; close(): Promise<void> };

beforeAll(async () => {
  expect(await ensureDatabase(url)).toBe(true);
  expect(await ensureDatabase(url)).toBe(false);
  await runMigrations(url);
  t = { url, ...createDb(url, { max: 3 }) };
});
afterAll(async () => {
  await t.close();
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

async function seedCompany(db: Database) {
  const companyId = newId('cmp');
  await db.insert(companies).values({ id: companyId, name: 'C', slug: companyId });
  const staffId = newId('stf');
  await db.insert(staff).values({ id: staffId, companyId, name: 'Sam' });
  const serviceId = newId('svc');
  await db.insert(services).values({ id: serviceId, companyId, name: 'Cut' });
  const segmentId = newId('seg');
  await t.db
    .insert(serviceSegments)
    .values({ id: segmentId, serviceId, position: 0, name: 'Cut', durationMinutes: 30 });
  await db
    .insert(eventTypeMappings)
    .values({ id: newId('map'), companyId, serviceId, segmentId, staffId, calcomEventTypeId: 1 });
  return { companyId, serviceIds: [serviceId] };
}

async function insertCustomer(companyId: string, email: string) {
  return t.db.insert(customers).values({ id: newId('cus'), companyId, name: 'Ada', email });
}

describe('migrations', () => {
  it('`pnpm migrate` reads DATABASE_URL from .env, as the other commands do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'calgate-migrate-'));
    try {
      await writeFile(join(dir, '.env'), `# from .env\nDATABASE_URL=${url}\n`);
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL'));
      const run = await new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          process.execPath,
          [fileURLToPath(new URL('../src/migrate-cli.ts', import.meta.url))],
          { cwd: dir, env, timeout: 60_000 },
          (error, stdout, stderr) => resolve({ code: error === null ? 0 : 1, out: `${stdout}${stderr}` }),
        );
      });
      expect(run.code, run.out).toBe(0);
      expect(run.out).toContain(`${name} up to date`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('are a no-op on an up-to-date database', async () => {
    await runMigrations(t.url);
    const [row] = await t.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(row?.n).toBeGreaterThanOrEqual(1);
    await runMigrations(t.url);
    const [again] = await t.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(again?.n).toBe(row?.n);
  });

  it('create the indexes the original design asks for', async () => {
    const rows = await t.sql<
      { indexname: string }[]
    >`select indexname from pg_indexes where schemaname = 'public'`;
    const names = rows.map((r) => r.indexname);
    expect(names).toEqual(
      expect.arrayContaining([
        'appointments_starts_at_idx',
        'appointments_calcom_booking_id_idx',
        'event_type_mappings_event_type_idx',
        'appointments_composite_group_idx',
      ]),
    );
  });

  // Indexes on columns most rows leave empty hold only the rows that set them; a lookup by a value
  // must still use them, including as a prepared statement's generic plan (a parameter, not a constant).
  it.each([
    ['appointments', 'calcom_booking_id', 'bigint', 'appointments_calcom_booking_id_idx'],
    ['appointments', 'composite_group_uid', 'text', 'appointments_composite_group_idx'],
    ['appointments', 'calcom_ical_uid', 'text', 'appointments_calcom_ical_uid_idx'],
    ['customers', 'phone', 'text', 'customers_company_phone_idx'],
  ])('look up %s by %s through its partial index', async (table, column, type, index) => {
    const plan = await t.sql.begin(async (tx) => {
      await tx.unsafe('set local enable_seqscan = off');
      await tx.unsafe('set local plan_cache_mode = force_generic_plan');
      await tx.unsafe(`prepare lookup (${type}) as select * from ${table} where ${column} = $1`);
      const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>('explain execute lookup (null)');
      await tx.unsafe('deallocate lookup');
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain(index);
    const [predicate] = await t.sql<{ indexdef: string }[]>`
      select indexdef from pg_indexes where indexname = ${index}`;
    expect(predicate?.indexdef).toMatch(/WHERE .* IS NOT NULL/i);
  });
});

describe('customers', () => {
  it('are unique per company by email, case-insensitively, but not across companies', async () => {
    const a = await seedCompany(t.db);
    const b = await seedCompany(t.db);
    await insertCustomer(a.companyId, 'ada@example.org');
    await expect(insertCustomer(a.companyId, 'ADA@example.org')).rejects.toThrow();
    await expect(insertCustomer(b.companyId, 'ada@example.org')).resolves.toBeDefined();
  });
});

describe('appointments', () => {
  async function appointmentFixture() {
    const seeded = await seedCompany(t.db);
    const customerId = newId('cus');
    await t.db
      .insert(customers)
      .values({ id: customerId, companyId: seeded.companyId, name: 'A', email: `${customerId}@x.org` });
    const base = {
      companyId: seeded.companyId,
      serviceId: seeded.serviceIds[0] as string,
      customerId,
      status: 'pending' as const,
      startsAt: new Date('2030-01-01T10:00:00Z'),
      endsAt: new Date('2030-01-01T10:30:00Z'),
      timezone: 'UTC',
    };
    return { seeded, base };
  }

  it('hold one Cal.com booking uid at most once', async () => {
    const { base } = await appointmentFixture();
    await t.db.insert(appointments).values({ ...base, id: newId('apt'), calcomBookingUid: 'uid-1' });
    await expect(
      t.db.insert(appointments).values({ ...base, id: newId('apt'), calcomBookingUid: 'uid-1' }),
    ).rejects.toThrow();
  });

  it('reject an unknown status and an end before the start', async () => {
    const { base } = await appointmentFixture();
    await expect(
      t.db.insert(appointments).values({ ...base, id: newId('apt'), status: 'bogus' as never }),
    ).rejects.toThrow();
    await expect(
      t.db
        .insert(appointments)
        .values({ ...base, id: newId('apt'), endsAt: new Date('2029-12-31T00:00:00Z') }),
    ).rejects.toThrow();
  });

  it('keep one idempotency key per company', async () => {
    const { seeded } = await appointmentFixture();
    const row = {
      companyId: seeded.companyId,
      key: 'k-1',
      method: 'POST',
      path: '/api/v2/bookings',
      requestHash: 'h',
      state: 'in_flight' as const,
      expiresAt: new Date(Date.now() + 86_400_000),
    };
    await t.db.insert(idempotencyKeys).values(row);
    await expect(t.db.insert(idempotencyKeys).values(row)).rejects.toThrow();
    const other = await seedCompany(t.db);
    await expect(
      t.db.insert(idempotencyKeys).values({ ...row, companyId: other.companyId }),
    ).resolves.toBeDefined();
  });

  it('go with their company when it is deleted', async () => {
    const { seeded, base } = await appointmentFixture();
    const id = newId('apt');
    await t.db.insert(appointments).values({ ...base, id });
    await t.sql`delete from companies where id = ${seeded.companyId}`;
    expect(await t.db.select().from(appointments).where(eq(appointments.id, id))).toEqual([]);
  });
});
