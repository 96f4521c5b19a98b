import { type AppointmentFilters, findAppointments, findAppointmentsQuery } from '@calgate/domain';
import {
  bulkPhone,
  createTestDatabase,
  insertBulkAppointments,
  type SeededCompany,
  salonTime,
  seedCompany,
  type TestDatabase,
  testDay,
} from '@calgate/testkit';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The lookups' query plans on a table big enough that PostgreSQL's planner, left to its own
 * costs (no enable_* switches), picks an index only where it is cheaper than reading the table:
 * 100,000 appointments of the company (10,000 customers, two years) beside 20,000 of another.
 */
const ROWS = 100_000;
const DAY_MS = 86_400_000;

let database: TestDatabase;
let company: SeededCompany;
const day = testDay();
const from = new Date(Date.parse(salonTime(day, '00:00')) - 365 * DAY_MS);

beforeAll(async () => {
  database = await createTestDatabase();
  const seed = async (name: string) =>
    seedCompany(database.db, {
      name,
      staff: [{ name: 'Alex' }, { name: 'Billie' }, { name: 'Casey' }],
      services: [
        { name: 'Haircut', segments: [{ name: 'Haircut', durationMinutes: 30, eventTypes: [] }] },
        { name: 'Colour', segments: [{ name: 'Colour', durationMinutes: 30, eventTypes: [] }] },
      ],
    });
  company = await seed('Big salon');
  const neighbour = await seed('Neighbour');
  for (const [owner, rows, tag] of [
    [company, ROWS, 'big'],
    [neighbour, 20_000, 'nbr'],
  ] as const) {
    await insertBulkAppointments(database.sql, {
      companyId: owner.companyId,
      serviceIds: owner.serviceIds,
      staffIds: owner.staffIds,
      appointments: rows,
      customers: rows / 10,
      from,
      spanDays: 730,
      tag,
    });
  }
}, 300_000);
afterAll(async () => {
  await database.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}
type Explained = Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>;
/** The plan for these parameter values (what PostgreSQL uses for a statement's first executions). */
async function customPlanOf(filters: AppointmentFilters): Promise<PlanNode[]> {
  const { query } = findAppointmentsQuery(company.companyId, filters, 'DE');
  const rows = await database.db.execute<Explained[number]>(sql`explain (format json) ${query}`);
  return nodesOf(rows);
}
/**
 * The generic plan of the prepared statement the API runs, which PostgreSQL may switch to after a
 * few executions: it must use the same indexes without knowing the values.
 */
async function genericPlanOf(filters: AppointmentFilters): Promise<PlanNode[]> {
  const { query } = findAppointmentsQuery(company.companyId, filters, 'DE');
  const { sql: text, params } = new PgDialect().sqlToQuery(query);
  const connection = await database.sql.reserve();
  try {
    await connection.unsafe('set plan_cache_mode = force_generic_plan');
    await connection.unsafe(`prepare lookup_plan as ${text}`);
    // EXECUTE takes the values as literals (text or numbers here): the plan is the same generic one.
    const literals = params
      .map((value) =>
        typeof value === 'number' ? String(value) : `'${String(value).replaceAll("'", "''")}'`,
      )
      .join(', ');
    const rows = await connection.unsafe(`explain (format json) execute lookup_plan(${literals})`);
    await connection.unsafe('deallocate lookup_plan');
    return nodesOf(rows as unknown as Explained);
  } finally {
    await connection.unsafe('reset plan_cache_mode');
    connection.release();
  }
}
function nodesOf(rows: Explained): PlanNode[] {
  const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
  if (plan === undefined) throw new Error('no plan');
  return nodes(plan);
}
/** Both plans, each checked by the caller. */
async function plansOf(filters: AppointmentFilters): Promise<PlanNode[][]> {
  return [await customPlanOf(filters), await genericPlanOf(filters)];
}
const indexesOf = (plan: PlanNode[]) => plan.map((n) => n['Index Name']).filter((n) => n !== undefined);
const seqScans = (plan: PlanNode[]) =>
  plan.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']);

const at = (offsetDays: number, hhmm: string) =>
  new Date(Date.parse(salonTime(day, hhmm)) + offsetDays * DAY_MS).toISOString();

describe('lookup query plans among many appointments of one company', () => {
  it('pages the whole company in (start, id) order straight from its index, without sorting', async () => {
    for (const plan of await plansOf({ limit: 100 })) {
      expect(indexesOf(plan)).toContain('appointments_company_starts_idx');
      expect(seqScans(plan)).not.toContain('appointments');
      expect(plan.map((n) => n['Node Type'])).not.toContain('Sort');
    }
  });

  it('continues after a cursor through the same index', async () => {
    const first = await findAppointments(database.sql, company.companyId, { limit: 50 }, 'DE');
    expect(first.nextCursor).not.toBeNull();
    for (const plan of await plansOf({ limit: 50, cursor: first.nextCursor as string })) {
      expect(indexesOf(plan)).toContain('appointments_company_starts_idx');
      expect(seqScans(plan)).not.toContain('appointments');
      expect(plan.map((n) => n['Node Type'])).not.toContain('Sort');
    }
  });

  it('reads a window as a range of the (company, start) index', async () => {
    for (const filters of [
      { from: at(-3, '09:00'), to: at(4, '09:00') },
      {
        from: at(-3, '09:00'),
        to: at(4, '09:00'),
        status: ['confirmed' as const],
        serviceId: company.serviceIds[1],
      },
    ]) {
      for (const plan of await plansOf(filters)) {
        expect(indexesOf(plan), JSON.stringify(filters)).toContain('appointments_company_starts_idx');
        expect(seqScans(plan)).not.toContain('appointments');
      }
    }
  });

  it('finds a customer by phone or email through the customer indexes', async () => {
    for (const byPhone of await plansOf({ customerPhone: bulkPhone('big', 1234) })) {
      expect(indexesOf(byPhone)).toEqual(
        expect.arrayContaining(['customers_company_phone_idx', 'appointments_customer_starts_idx']),
      );
      expect(seqScans(byPhone)).toEqual([]);
    }
    for (const byEmail of await plansOf({ customerEmail: 'c1234.big@example.org' })) {
      expect(indexesOf(byEmail)).toEqual(
        expect.arrayContaining(['customers_company_email_unique', 'appointments_customer_starts_idx']),
      );
      expect(seqScans(byEmail)).toEqual([]);
    }
  });

  it('finds a staff member’s appointments without reading the table', async () => {
    for (const plan of await plansOf({
      staffId: company.staffIds[2],
      from: at(0, '00:00'),
      to: at(1, '00:00'),
    })) {
      expect(seqScans(plan)).not.toContain('appointments');
      expect(indexesOf(plan).some((name) => name.startsWith('appointments_'))).toBe(true);
    }
  });

  it('returns what the plans promise: the customer’s own appointments, in order', async () => {
    const page = await findAppointments(
      database.sql,
      company.companyId,
      { customerPhone: bulkPhone('big', 1234), limit: 100 },
      'DE',
    );
    expect(page.appointments.length).toBe(10);
    expect(new Set(page.appointments.map((a) => a.customer.phone))).toEqual(
      new Set([bulkPhone('big', 1234)]),
    );
    const starts = page.appointments.map((a) => Date.parse(a.start));
    expect(starts).toEqual([...starts].sort((x, y) => x - y));
  });
});
