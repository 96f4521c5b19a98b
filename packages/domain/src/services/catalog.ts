import { LocalCache } from '@calgate/cache';
import { type Database, eventTypeMappings, serviceSegments, services, staff } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import { mappingInScope } from '../accounts/scope.ts';

export interface SegmentStaffOption {
  staffId: string;
  staffName: string;
  eventTypeId: number;
  /** The event type's booking fields require the attendee's email (see `eventTypeMappings.requiresEmail`). */
  requiresEmail: boolean;
}

export interface ServiceSegmentView {
  id: string;
  position: number;
  name: string;
  durationMinutes: number;
  pauseAfterMinutes: number;
  /** Staff who can perform this segment, each with the Cal.com event type to book. */
  options: SegmentStaffOption[];
}

export interface ServiceDefinition {
  id: string;
  companyId: string;
  name: string;
  description: string | null;
  kind: 'simple' | 'composite';
  preferSameStaff: boolean;
  segments: ServiceSegmentView[];
  /** Start of the first segment to end of the last, pauses included. */
  totalMinutes: number;
}

/** The company's active services with their segments and staff, in name order. */
export async function listServices(db: Database, companyId: string): Promise<ServiceDefinition[]> {
  const rows = await db
    .select()
    .from(services)
    .where(and(eq(services.companyId, companyId), isNull(services.deletedAt), eq(services.active, true)))
    .orderBy(asc(services.name));
  return hydrate(db, rows);
}

export interface LoadServiceOptions {
  /**
   * Read a deactivated service too: everything about an appointment that already exists (its
   * booking, cancel, reschedule) goes on after an operator deactivates the service; only new
   * bookings and availability are refused.
   * @defaultValue false
   */
  includeInactive?: boolean;
}

/** How steps of an appointment that already exists read its service (see `includeInactive`). */
export const EXISTING: LoadServiceOptions = { includeInactive: true };

/**
 * One service of the company, active unless `includeInactive`.
 * @throws AppError SERVICE_NOT_FOUND when it does not exist, is deleted, belongs to another company,
 * or is deactivated (then the message says so).
 */
export async function loadService(
  db: Database,
  companyId: string,
  serviceId: string,
  options: LoadServiceOptions = {},
): Promise<ServiceDefinition> {
  const rows = await db
    .select()
    .from(services)
    .where(
      and(
        eq(services.id, serviceId),
        eq(services.companyId, companyId),
        isNull(services.deletedAt),
        options.includeInactive === true ? undefined : eq(services.active, true),
      ),
    )
    .limit(1);
  const [service] = await hydrate(db, rows);
  if (service === undefined) {
    const inactive =
      options.includeInactive !== true &&
      (
        await db
          .select({ id: services.id })
          .from(services)
          .where(
            and(eq(services.id, serviceId), eq(services.companyId, companyId), isNull(services.deletedAt)),
          )
          .limit(1)
      ).length > 0;
    throw new AppError(
      'SERVICE_NOT_FOUND',
      inactive
        ? `serviceId: service ${serviceId.slice(0, 64)} is deactivated and takes no new bookings`
        : `serviceId: no service ${serviceId.slice(0, 64)}`,
      { details: inactive ? { field: 'serviceId', reason: 'inactive' } : { field: 'serviceId' } },
    );
  }
  return service;
}

/** How long a read path may reuse a service definition (availability asks come in bursts). */
export const SERVICE_CACHE_MS = 5_000;
const cache = new LocalCache<string, Promise<ServiceDefinition>>({
  name: 'service-definitions',
  ttlMs: SERVICE_CACHE_MS,
});

/**
 * Forgets every service definition this process reuses: an operator changed a service or a staff
 * member. Other processes see the change within `SERVICE_CACHE_MS`.
 */
export function forgetCachedServices(): void {
  cache.clear();
}

/**
 * `loadService` for read paths (availability), reused for `SERVICE_CACHE_MS` within the process:
 * three queries fewer per availability request. Booking steps always read fresh.
 */
export function loadServiceCached(
  db: Database,
  companyId: string,
  serviceId: string,
  options: LoadServiceOptions = {},
): Promise<ServiceDefinition> {
  const key = `${companyId}:${serviceId}:${options.includeInactive === true ? 'any' : 'active'}`;
  return cache.getOrSet(key, () => loadService(db, companyId, serviceId, options));
}

type ServiceRow = typeof services.$inferSelect;

async function hydrate(db: Database, rows: ServiceRow[]): Promise<ServiceDefinition[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const [segmentRows, optionRows] = await Promise.all([
    db
      .select()
      .from(serviceSegments)
      .where(inArray(serviceSegments.serviceId, ids))
      .orderBy(asc(serviceSegments.position)),
    db
      .select({
        segmentId: eventTypeMappings.segmentId,
        staffId: staff.id,
        staffName: staff.name,
        eventTypeId: eventTypeMappings.calcomEventTypeId,
        requiresEmail: eventTypeMappings.requiresEmail,
      })
      .from(eventTypeMappings)
      .innerJoin(staff, eq(staff.id, eventTypeMappings.staffId))
      .where(
        and(
          inArray(eventTypeMappings.serviceId, ids),
          isNull(eventTypeMappings.deletedAt),
          eq(staff.active, true),
          // Only event types inside the company's scope are offered or booked.
          mappingInScope(),
        ),
      )
      .orderBy(asc(staff.name)),
  ]);
  return rows.map((row) => {
    const segments = segmentRows
      .filter((segment) => segment.serviceId === row.id)
      .map((segment) => ({
        id: segment.id,
        position: segment.position,
        name: segment.name,
        durationMinutes: segment.durationMinutes,
        pauseAfterMinutes: segment.pauseAfterMinutes,
        options: optionRows
          .filter((option) => option.segmentId === segment.id)
          .map(({ staffId, staffName, eventTypeId, requiresEmail }) => ({
            staffId,
            staffName,
            eventTypeId,
            requiresEmail,
          })),
      }));
    const totalMinutes = segments.reduce(
      (sum, segment, i) =>
        sum + segment.durationMinutes + (i < segments.length - 1 ? segment.pauseAfterMinutes : 0),
      0,
    );
    return {
      id: row.id,
      companyId: row.companyId,
      name: row.name,
      description: row.description,
      kind: row.kind,
      preferSameStaff: row.preferSameStaff,
      segments,
      totalMinutes,
    };
  });
}

/** Staff options of a segment, narrowed to one member when the caller asked for one. */
export function staffOptions(
  service: ServiceDefinition,
  position: number,
  staffId: string | undefined,
): SegmentStaffOption[] {
  const options = service.segments[position]?.options ?? [];
  if (staffId === undefined) return options;
  const chosen = options.filter((option) => option.staffId === staffId);
  if (chosen.length === 0) {
    throw new AppError('STAFF_NOT_FOUND', `staffId: ${staffId.slice(0, 64)} does not perform this service`, {
      details: { field: 'staffId' },
    });
  }
  return chosen;
}
