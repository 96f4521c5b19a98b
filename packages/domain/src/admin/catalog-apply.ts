import { type Database, eventTypeMappings, serviceSegments, services, staff } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';
import { type CatalogChange, created, differences, segmentDifferences } from './catalog-diff.ts';
import type { Catalog } from './catalog-file.ts';
import { requireCompany } from './companies.ts';
import { checkEventType, type EventTypeMemo, type Mismatch, mismatchError } from './event-types.ts';
import { deleteMapping, saveMapping } from './mappings.ts';
import { assertSegmentsReplaceable, createAdminService, updateAdminService } from './service-changes.ts';
import type { SegmentInput } from './services.ts';
import { createStaff, updateStaff } from './staff.ts';
import { checkTimeZone } from './time-zone.ts';

type Deps = Pick<DomainDeps, 'db' | 'calcom'>;

export interface CatalogResult {
  changes: CatalogChange[];
  /** False on a dry run, and when there was nothing to change. */
  applied: boolean;
}

interface Pass {
  apply: boolean;
  memo: EventTypeMemo;
  changes: CatalogChange[];
  mismatches: Mismatch[];
}

/**
 * Brings a company's staff, services, segments and mappings to what `catalog` says, after
 * checking every new or changed mapping against Cal.com (a mismatch answers 422 and changes
 * nothing). Staff and services are matched by key; ones without a key are adopted when they
 * match (staff by Cal.com user or email, services by name); keyed ones missing from the file are
 * deactivated, never deleted, so existing appointments keep working. Applying the same catalog
 * again changes nothing. The changes are written in one transaction: all of them or none.
 */
export async function applyCatalog(
  deps: Deps,
  companyId: string,
  catalog: Catalog,
  options: { dryRun?: boolean } = {},
): Promise<CatalogResult> {
  const memo: EventTypeMemo = new Map();
  const plan: Pass = { apply: false, memo, changes: [], mismatches: [] };
  await walk(deps, companyId, catalog, plan);
  if (plan.mismatches.length > 0) throw mismatchError(plan.mismatches);
  if (options.dryRun === true || plan.changes.length === 0) return { changes: plan.changes, applied: false };
  const run: Pass = { apply: true, memo, changes: [], mismatches: [] };
  // One transaction: a step refused half-way (a conflict the plan could not foresee, PostgreSQL
  // going away) leaves the catalog as it was. Cal.com was asked in the plan; the memo answers now.
  await deps.db.transaction(async (tx) => {
    await walk({ ...deps, db: tx as unknown as Database }, companyId, catalog, run);
    if (run.mismatches.length > 0) throw mismatchError(run.mismatches);
  });
  return { changes: run.changes, applied: true };
}

async function walk(deps: Deps, companyId: string, catalog: Catalog, pass: Pass): Promise<void> {
  const company = await requireCompany(deps, companyId);
  const staffIds = await walkStaff(deps, company, catalog, pass);
  await walkServices(deps, companyId, catalog, staffIds, pass);
}

/** Returns staff key -> staff id (undefined for one only planned). */
async function walkStaff(
  deps: Deps,
  company: { id: string; timezone: string },
  catalog: Catalog,
  pass: Pass,
): Promise<Map<string, string | undefined>> {
  const rows = await deps.db
    .select()
    .from(staff)
    .where(eq(staff.companyId, company.id))
    .orderBy(asc(staff.id));
  const ids = new Map<string, string | undefined>();
  const claimed = new Set<string>();
  const emailOf = new Map<number, string>();
  for (const [i, entry] of catalog.staff.entries()) {
    const desired = {
      key: entry.key,
      name: entry.name,
      email: entry.email ?? null,
      calcomUserId: entry.calcomUserId ?? null,
      timeZone: entry.timeZone ?? company.timezone,
      active: entry.active,
    };
    checkTimeZone(desired.timeZone, `staff.${i}.timeZone`);
    if (desired.email !== null) emailOf.set(i, desired.email);
    const sameEmail = (email: string | null) =>
      email !== null && desired.email !== null && email.toLowerCase() === desired.email.toLowerCase();
    const row =
      rows.find((r) => r.catalogKey === entry.key) ??
      rows.find(
        (r) =>
          r.catalogKey === null &&
          !claimed.has(r.id) &&
          ((desired.calcomUserId !== null && r.calcomUserId === desired.calcomUserId) || sameEmail(r.email)),
      );
    if (row === undefined) {
      pass.changes.push({ action: 'create', entity: 'staff', key: entry.key, fields: created(desired) });
      ids.set(entry.key, pass.apply ? (await createStaff(deps, company.id, desired)).id : undefined);
      continue;
    }
    claimed.add(row.id);
    ids.set(entry.key, row.id);
    const fields = differences(
      {
        key: row.catalogKey,
        name: row.name,
        email: row.email,
        calcomUserId: row.calcomUserId,
        timeZone: row.timezone,
        active: row.active,
      },
      desired,
    );
    if (fields.length === 0) continue;
    pass.changes.push({ action: 'update', entity: 'staff', key: entry.key, fields });
    if (pass.apply) {
      await updateStaff(deps, company.id, row.id, Object.fromEntries(fields.map((f) => [f.field, f.to])));
    }
  }
  assertEmailsFree(
    rows.filter((row) => !claimed.has(row.id)),
    emailOf,
  );
  for (const row of rows) {
    if (row.catalogKey === null || !row.active || ids.has(row.catalogKey)) continue;
    pass.changes.push({
      action: 'deactivate',
      entity: 'staff',
      key: row.catalogKey,
      fields: [{ field: 'active', from: true, to: false }],
    });
    if (pass.apply) await updateStaff(deps, company.id, row.id, { active: false });
  }
  return ids;
}

/**
 * A staff member the file does not list keeps their email (deactivated or not), and an email is
 * one staff member's alone: a file giving it to another (a key renamed, say) is refused before
 * anything is written, naming the entry.
 */
function assertEmailsFree(unlisted: Array<typeof staff.$inferSelect>, emailOf: Map<number, string>): void {
  for (const [i, email] of emailOf) {
    const holder = unlisted.find((row) => row.email === email);
    if (holder === undefined) continue;
    throw new AppError(
      'VALIDATION_FAILED',
      `staff.${i}.email: already the email of staff member ${holder.catalogKey ?? holder.id}, whom this ` +
        'file does not list (a key names one staff member: keep theirs, or give another email)',
      { details: { field: `staff.${i}.email` } },
    );
  }
}

async function walkServices(
  deps: Deps,
  companyId: string,
  catalog: Catalog,
  staffIds: Map<string, string | undefined>,
  pass: Pass,
): Promise<void> {
  const rows = await deps.db
    .select()
    .from(services)
    .where(and(eq(services.companyId, companyId), isNull(services.deletedAt)))
    .orderBy(asc(services.id));
  const serviceIds = rows.map((r) => r.id);
  const segments =
    serviceIds.length === 0
      ? []
      : await deps.db.select().from(serviceSegments).where(inArray(serviceSegments.serviceId, serviceIds));
  const mappings = await deps.db
    .select()
    .from(eventTypeMappings)
    .where(and(eq(eventTypeMappings.companyId, companyId), isNull(eventTypeMappings.deletedAt)));
  const staffRows = await deps.db
    .select({ id: staff.id, key: staff.catalogKey })
    .from(staff)
    .where(eq(staff.companyId, companyId));
  const staffLabel = new Map(staffRows.map((s) => [s.id, s.key ?? s.id]));
  for (const [key, id] of staffIds) if (id !== undefined) staffLabel.set(id, key);

  const claimed = new Set<string>();
  const seenKeys = new Set<string>();
  for (const [i, entry] of catalog.services.entries()) {
    seenKeys.add(entry.key);
    const wanted: SegmentInput[] = entry.segments.map((s) => ({
      name: s.name,
      durationMinutes: s.durationMinutes,
      pauseAfterMinutes: s.pauseAfterMinutes,
    }));
    const desired = {
      key: entry.key,
      name: entry.name,
      description: entry.description ?? null,
      preferSameStaff: entry.preferSameStaff,
      active: entry.active,
    };
    const row =
      rows.find((r) => r.catalogKey === entry.key) ??
      rows.find((r) => r.catalogKey === null && !claimed.has(r.id) && r.name === entry.name);
    let serviceId = row?.id;
    const existing = segments.filter((s) => s.serviceId === row?.id).sort((a, b) => a.position - b.position);
    if (row === undefined) {
      pass.changes.push({
        action: 'create',
        entity: 'service',
        key: entry.key,
        fields: [
          ...created(desired),
          {
            field: 'segments',
            from: null,
            to: wanted.map((s) => `${s.name} ${s.durationMinutes}+${s.pauseAfterMinutes}`),
          },
        ],
      });
      if (pass.apply)
        serviceId = (await createAdminService(deps, companyId, { ...desired, segments: wanted })).id;
    } else {
      claimed.add(row.id);
      const fields = differences(
        {
          key: row.catalogKey,
          name: row.name,
          description: row.description,
          preferSameStaff: row.preferSameStaff,
          active: row.active,
        },
        desired,
      );
      fields.push(...segmentDifferences(existing, wanted));
      if (fields.length > 0) {
        await assertSegmentsReplaceable(deps, row, existing, wanted, `services.${i}.segments`);
        pass.changes.push({ action: 'update', entity: 'service', key: entry.key, fields });
        if (pass.apply) {
          await updateAdminService(
            deps,
            companyId,
            row.id,
            { ...desired, segments: wanted },
            { skipMappingCheck: true, memo: pass.memo },
          );
        }
      }
    }

    for (const [position, segment] of entry.segments.entries()) {
      const before = existing.find((s) => s.position === position);
      const current = before === undefined ? [] : mappings.filter((m) => m.segmentId === before.id);
      const wantedStaff = new Set<string>();
      for (const [staffKey, eventTypeId] of Object.entries(segment.eventTypes)) {
        const staffId = staffIds.get(staffKey);
        if (staffId !== undefined) wantedStaff.add(staffId);
        const mapping = staffId === undefined ? undefined : current.find((m) => m.staffId === staffId);
        const durationChanged = before !== undefined && before.durationMinutes !== segment.durationMinutes;
        if (mapping === undefined || mapping.calcomEventTypeId !== eventTypeId || durationChanged) {
          const mismatch = await checkEventType(
            deps,
            companyId,
            {
              eventTypeId,
              durationMinutes: segment.durationMinutes,
              field: `services.${i}.segments.${position}.eventTypes.${staffKey}`,
              given: 'eventType',
            },
            pass.memo,
          );
          if (mismatch !== undefined) pass.mismatches.push(mismatch);
        }
        if (mapping !== undefined && mapping.calcomEventTypeId === eventTypeId) continue;
        pass.changes.push({
          action: mapping === undefined ? 'create' : 'update',
          entity: 'mapping',
          key: `${entry.key}#${position} ${staffKey}`,
          fields: [{ field: 'eventTypeId', from: mapping?.calcomEventTypeId ?? null, to: eventTypeId }],
        });
        if (pass.apply && serviceId !== undefined && staffId !== undefined) {
          await saveMapping(deps, companyId, { serviceId, position, staffId, eventTypeId }, pass.memo);
        }
      }
      for (const mapping of current) {
        if (wantedStaff.has(mapping.staffId)) continue;
        pass.changes.push({
          action: 'remove',
          entity: 'mapping',
          key: `${entry.key}#${position} ${staffLabel.get(mapping.staffId) ?? mapping.staffId}`,
          fields: [{ field: 'eventTypeId', from: mapping.calcomEventTypeId, to: null }],
        });
        if (pass.apply) await deleteMapping(deps, companyId, mapping.id);
      }
    }
  }

  for (const row of rows) {
    if (row.catalogKey === null || !row.active || seenKeys.has(row.catalogKey)) continue;
    pass.changes.push({
      action: 'deactivate',
      entity: 'service',
      key: row.catalogKey,
      fields: [{ field: 'active', from: true, to: false }],
    });
    if (pass.apply) await updateAdminService(deps, companyId, row.id, { active: false });
  }
}
