import {
  appointmentSegments,
  appointments,
  eventTypeMappings,
  newId,
  serviceSegments,
  services,
} from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, asc, eq, gte, inArray, isNull } from 'drizzle-orm';
import { isUniqueViolation } from '../appointments/unique-violation.ts';
import type { DomainDeps } from '../deps.ts';
import { forgetCachedServices } from '../services/catalog.ts';
import { requireCompany } from './companies.ts';
import { checkEventType, type EventTypeMemo, type Mismatch, mismatchError } from './event-types.ts';
import {
  getAdminService,
  requireService,
  type SegmentInput,
  type ServiceInput,
  type ServiceRow,
  type ServiceView,
} from './services.ts';

type Deps = Pick<DomainDeps, 'db' | 'calcom'>;

export const MAX_SEGMENTS = 20;
const MAX_MINUTES = 24 * 60;

function invalid(field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', `${field}: ${message}`, { details: { field } });
}

/** Segment rules the database cannot say clearly: counts, whole minutes, no pause after the last. */
export function checkSegments(segments: SegmentInput[], field = 'segments'): void {
  if (segments.length === 0 || segments.length > MAX_SEGMENTS) {
    throw invalid(field, `must have 1 to ${MAX_SEGMENTS} segments`);
  }
  for (const [i, segment] of segments.entries()) {
    const at = `${field}.${i}`;
    if (segment.name.trim() === '') throw invalid(`${at}.name`, 'is required');
    if (!Number.isInteger(segment.durationMinutes) || segment.durationMinutes < 1) {
      throw invalid(`${at}.durationMinutes`, `must be whole minutes (1-${MAX_MINUTES})`);
    }
    if (segment.durationMinutes > MAX_MINUTES) {
      throw invalid(`${at}.durationMinutes`, `must be whole minutes (1-${MAX_MINUTES})`);
    }
    const pause = segment.pauseAfterMinutes ?? 0;
    if (!Number.isInteger(pause) || pause < 0 || pause > MAX_MINUTES) {
      throw invalid(`${at}.pauseAfterMinutes`, `must be whole minutes (0-${MAX_MINUTES})`);
    }
    if (i === segments.length - 1 && pause !== 0) {
      throw invalid(`${at}.pauseAfterMinutes`, 'must be 0 on the last segment (nothing follows it)');
    }
  }
}

function duplicate(error: unknown): never {
  if (isUniqueViolation(error)) {
    throw new AppError('INVALID_STATE', 'key: another service of this company has the same key', {
      details: { field: 'key', status: 'duplicate' },
    });
  }
  throw error;
}

/** A new local service with its segments; its mappings are saved one by one after it. */
export async function createAdminService(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  input: ServiceInput,
): Promise<ServiceView> {
  await requireCompany(deps, companyId);
  if (input.name.trim() === '') throw invalid('name', 'is required');
  checkSegments(input.segments);
  const serviceId = newId('svc');
  await deps.db
    .transaction(async (tx) => {
      await tx.insert(services).values({
        id: serviceId,
        companyId,
        catalogKey: input.key ?? null,
        name: input.name.trim(),
        description: input.description ?? null,
        kind: input.segments.length > 1 ? 'composite' : 'simple',
        preferSameStaff: input.preferSameStaff ?? false,
        active: input.active ?? true,
        source: 'local',
      });
      await tx.insert(serviceSegments).values(
        input.segments.map((segment, position) => ({
          id: newId('seg'),
          serviceId,
          position,
          name: segment.name.trim(),
          durationMinutes: segment.durationMinutes,
          pauseAfterMinutes: segment.pauseAfterMinutes ?? 0,
        })),
      );
    })
    .catch(duplicate);
  return getAdminService(deps, companyId, serviceId);
}

export interface UpdateServiceOptions {
  memo?: EventTypeMemo;
  /**
   * Leave the mappings of changed durations unchecked (a catalog apply has checked the state it
   * is heading to as a whole).
   * @defaultValue false
   */
  skipMappingCheck?: boolean;
}

/**
 * Changes a service. `segments`, when given, replace the segments position by position; a
 * duration that no longer matches a mapped event type answers 422, a segment that existing
 * appointments were booked through cannot be removed, and a service with appointments keeps its
 * kind. Deactivating (`active: false`) refuses new bookings and availability; existing
 * appointments are read, cancelled and rescheduled as before.
 */
export async function updateAdminService(
  deps: Deps,
  companyId: string,
  serviceId: string,
  input: Partial<ServiceInput>,
  options: UpdateServiceOptions = {},
): Promise<ServiceView> {
  await requireCompany(deps, companyId);
  const current = await requireService(deps, companyId, serviceId);
  if (input.name !== undefined && input.name.trim() === '') throw invalid('name', 'is required');
  const wanted = input.segments;
  const existing = await deps.db
    .select()
    .from(serviceSegments)
    .where(eq(serviceSegments.serviceId, serviceId))
    .orderBy(asc(serviceSegments.position));
  if (wanted !== undefined) {
    checkSegments(wanted);
    await assertSegmentsReplaceable(deps, current, existing, wanted);
    if (options.skipMappingCheck !== true) {
      await checkChangedDurations(deps, companyId, existing, wanted, options.memo);
    }
  }

  await deps.db
    .transaction(async (tx) => {
      const set: Partial<typeof services.$inferInsert> = { updatedAt: new Date() };
      if (input.key !== undefined) set.catalogKey = input.key;
      if (input.name !== undefined) set.name = input.name.trim();
      if (input.description !== undefined) set.description = input.description;
      if (input.preferSameStaff !== undefined) set.preferSameStaff = input.preferSameStaff;
      if (input.active !== undefined) set.active = input.active;
      if (wanted !== undefined) set.kind = wanted.length > 1 ? 'composite' : 'simple';
      await tx.update(services).set(set).where(eq(services.id, serviceId));
      if (wanted === undefined) return;
      await tx
        .delete(serviceSegments)
        .where(and(eq(serviceSegments.serviceId, serviceId), gte(serviceSegments.position, wanted.length)));
      for (const [position, segment] of wanted.entries()) {
        const row = existing.find((s) => s.position === position);
        const values = {
          name: segment.name.trim(),
          durationMinutes: segment.durationMinutes,
          pauseAfterMinutes: segment.pauseAfterMinutes ?? 0,
        };
        if (row === undefined) {
          await tx.insert(serviceSegments).values({ id: newId('seg'), serviceId, position, ...values });
        } else if (
          row.name !== values.name ||
          row.durationMinutes !== values.durationMinutes ||
          row.pauseAfterMinutes !== values.pauseAfterMinutes
        ) {
          await tx.update(serviceSegments).set(values).where(eq(serviceSegments.id, row.id));
        }
      }
    })
    .catch(duplicate);
  forgetCachedServices();
  return getAdminService(deps, companyId, serviceId);
}

/**
 * A service with appointments keeps its kind, and a segment that appointments were booked
 * through stays (their history points at it).
 * @throws AppError INVALID_STATE naming `segments`.
 */
export async function assertSegmentsReplaceable(
  deps: Pick<DomainDeps, 'db'>,
  service: ServiceRow,
  existing: Array<typeof serviceSegments.$inferSelect>,
  wanted: SegmentInput[],
  field = 'segments',
): Promise<void> {
  const kind = wanted.length > 1 ? 'composite' : 'simple';
  if (kind !== service.kind && (await hasAppointments(deps, service.id))) {
    throw new AppError(
      'INVALID_STATE',
      `${field}: the service has appointments, so it stays ${service.kind}; create a new service instead`,
      { details: { field, status: service.kind } },
    );
  }
  const removed = existing.filter((s) => s.position >= wanted.length).map((s) => s.id);
  if (removed.length === 0) return;
  const [used] = await deps.db
    .select({ id: appointmentSegments.id })
    .from(appointmentSegments)
    .where(inArray(appointmentSegments.serviceSegmentId, removed))
    .limit(1);
  if (used !== undefined) {
    throw new AppError(
      'INVALID_STATE',
      `${field}: segment ${wanted.length} and later were booked by existing appointments and cannot be removed; deactivate the service and create a new one`,
      { details: { field: `${field}.${wanted.length}`, status: 'in_use' } },
    );
  }
}

async function hasAppointments(deps: Pick<DomainDeps, 'db'>, serviceId: string): Promise<boolean> {
  const [row] = await deps.db
    .select({ id: appointments.id })
    .from(appointments)
    .where(eq(appointments.serviceId, serviceId))
    .limit(1);
  return row !== undefined;
}

/** A changed duration must still match every event type mapped to that segment. */
async function checkChangedDurations(
  deps: Deps,
  companyId: string,
  existing: Array<typeof serviceSegments.$inferSelect>,
  wanted: SegmentInput[],
  memo: EventTypeMemo = new Map(),
): Promise<void> {
  const changed = existing.filter((row) => {
    const next = wanted[row.position];
    return next !== undefined && next.durationMinutes !== row.durationMinutes;
  });
  if (changed.length === 0) return;
  const mapped = await deps.db
    .select()
    .from(eventTypeMappings)
    .where(
      and(
        inArray(
          eventTypeMappings.segmentId,
          changed.map((s) => s.id),
        ),
        isNull(eventTypeMappings.deletedAt),
      ),
    );
  const mismatches: Mismatch[] = [];
  for (const mapping of mapped) {
    const segment = changed.find((s) => s.id === mapping.segmentId);
    const next = segment === undefined ? undefined : wanted[segment.position];
    if (segment === undefined || next === undefined) continue;
    const found = await checkEventType(
      deps,
      companyId,
      {
        eventTypeId: mapping.calcomEventTypeId,
        durationMinutes: next.durationMinutes,
        field: `segments.${segment.position}.durationMinutes`,
        given: 'duration',
      },
      memo,
    );
    if (found !== undefined) mismatches.push(found);
  }
  if (mismatches.length > 0) throw mismatchError(mismatches);
}
