import { newId, staff } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, asc, eq } from 'drizzle-orm';
import { isUniqueViolation } from '../appointments/unique-violation.ts';
import type { DomainDeps } from '../deps.ts';
import { forgetCachedServices } from '../services/catalog.ts';
import { requireCompany } from './companies.ts';
import { checkTimeZone } from './time-zone.ts';

type StaffRow = typeof staff.$inferSelect;
type Deps = Pick<DomainDeps, 'db'>;

export interface StaffView {
  id: string;
  key: string | null;
  name: string;
  email: string | null;
  calcomUserId: number | null;
  timeZone: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** What an operator may set on a staff member; on update every field is optional. */
export interface StaffInput {
  key?: string | null | undefined;
  name: string;
  email?: string | null | undefined;
  calcomUserId?: number | null | undefined;
  timeZone?: string | undefined;
  active?: boolean | undefined;
}

export function staffView(row: StaffRow): StaffView {
  return {
    id: row.id,
    key: row.catalogKey,
    name: row.name,
    email: row.email,
    calcomUserId: row.calcomUserId,
    timeZone: row.timezone,
    active: row.active,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** @throws AppError INVALID_TIMEZONE naming `field` when `zone` is not an IANA zone. */
function conflict(error: unknown): never {
  if (isUniqueViolation(error)) {
    throw new AppError('INVALID_STATE', 'Another staff member of this company has the same email or key', {
      details: { field: 'email or key', status: 'duplicate' },
    });
  }
  throw error;
}

/** The columns a staff input sets (fields left out are left alone). */
export function staffColumns(input: Partial<StaffInput>): Partial<typeof staff.$inferInsert> {
  if (input.timeZone !== undefined) checkTimeZone(input.timeZone, 'timeZone');
  const set: Partial<typeof staff.$inferInsert> = {};
  if (input.key !== undefined) set.catalogKey = input.key;
  if (input.name !== undefined) set.name = input.name.trim();
  if (input.email !== undefined) set.email = input.email;
  if (input.calcomUserId !== undefined) set.calcomUserId = input.calcomUserId;
  if (input.timeZone !== undefined) set.timezone = input.timeZone;
  if (input.active !== undefined) set.active = input.active;
  return set;
}

/** A staff member; without a zone of their own, the company's (as a catalog file's staff). */
export async function createStaff(deps: Deps, companyId: string, input: StaffInput): Promise<StaffView> {
  const company = await requireCompany(deps, companyId);
  const columns = staffColumns(input);
  const [row] = await deps.db
    .insert(staff)
    .values({
      timezone: company.timezone,
      ...columns,
      id: newId('stf'),
      companyId,
      name: input.name.trim(),
    })
    .returning()
    .catch(conflict);
  if (row === undefined) throw new Error('staff insert returned nothing');
  return staffView(row);
}

export async function listStaff(deps: Deps, companyId: string): Promise<StaffView[]> {
  await requireCompany(deps, companyId);
  const rows = await deps.db
    .select()
    .from(staff)
    .where(eq(staff.companyId, companyId))
    .orderBy(asc(staff.name), asc(staff.id));
  return rows.map(staffView);
}

/** @throws AppError STAFF_NOT_FOUND when the company has no such staff member. */
export async function requireStaff(deps: Deps, companyId: string, staffId: string): Promise<StaffRow> {
  const [row] = await deps.db
    .select()
    .from(staff)
    .where(and(eq(staff.id, staffId), eq(staff.companyId, companyId)))
    .limit(1);
  if (row === undefined) {
    throw new AppError('STAFF_NOT_FOUND', `staffId: no staff member ${staffId.slice(0, 64)}`, {
      details: { field: 'staffId' },
    });
  }
  return row;
}

/**
 * Changes a staff member. Deactivating (`active: false`) takes them out of availability and new
 * bookings; their existing appointments are read, cancelled and rescheduled as before.
 */
export async function updateStaff(
  deps: Deps,
  companyId: string,
  staffId: string,
  input: Partial<StaffInput>,
): Promise<StaffView> {
  await requireCompany(deps, companyId);
  const current = await requireStaff(deps, companyId, staffId);
  const columns = staffColumns(input);
  if (Object.keys(columns).length === 0) return staffView(current);
  const [row] = await deps.db
    .update(staff)
    .set({ ...columns, updatedAt: new Date() })
    .where(and(eq(staff.id, staffId), eq(staff.companyId, companyId)))
    .returning()
    .catch(conflict);
  forgetCachedServices();
  return staffView(row ?? current);
}
