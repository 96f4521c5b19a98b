import { eventTypeMappings, serviceSegments, services } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';

export type ServiceRow = typeof services.$inferSelect;

export interface SegmentInput {
  name: string;
  durationMinutes: number;
  pauseAfterMinutes?: number | undefined;
}

export interface ServiceInput {
  key?: string | null | undefined;
  name: string;
  description?: string | null | undefined;
  preferSameStaff?: boolean | undefined;
  active?: boolean | undefined;
  /** In order; one segment makes a simple service, more a composite one. */
  segments: SegmentInput[];
}

export interface MappingView {
  id: string;
  serviceId: string;
  segmentId: string;
  position: number;
  staffId: string;
  eventTypeId: number;
  eventTypeSlug: string | null;
}

export interface ServiceView {
  id: string;
  key: string | null;
  name: string;
  description: string | null;
  kind: 'simple' | 'composite';
  preferSameStaff: boolean;
  active: boolean;
  source: 'local' | 'calcom';
  segments: Array<{
    id: string;
    position: number;
    name: string;
    durationMinutes: number;
    pauseAfterMinutes: number;
    mappings: MappingView[];
  }>;
  createdAt: string;
  updatedAt: string;
}

/** @throws AppError SERVICE_NOT_FOUND when the company has no such (undeleted) service. */
export async function requireService(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  serviceId: string,
): Promise<ServiceRow> {
  const [row] = await deps.db
    .select()
    .from(services)
    .where(and(eq(services.id, serviceId), eq(services.companyId, companyId), isNull(services.deletedAt)))
    .limit(1);
  if (row === undefined) {
    throw new AppError('SERVICE_NOT_FOUND', `serviceId: no service ${serviceId.slice(0, 64)}`, {
      details: { field: 'serviceId' },
    });
  }
  return row;
}

/** Services of the company (active and deactivated, not deleted) with segments and live mappings. */
export async function listAdminServices(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  serviceId?: string,
): Promise<ServiceView[]> {
  const rows = await deps.db
    .select()
    .from(services)
    .where(
      and(
        eq(services.companyId, companyId),
        isNull(services.deletedAt),
        serviceId === undefined ? undefined : eq(services.id, serviceId),
      ),
    )
    .orderBy(asc(services.name), asc(services.id));
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [segments, mappings] = await Promise.all([
    deps.db
      .select()
      .from(serviceSegments)
      .where(inArray(serviceSegments.serviceId, ids))
      .orderBy(asc(serviceSegments.position)),
    deps.db
      .select()
      .from(eventTypeMappings)
      .where(and(inArray(eventTypeMappings.serviceId, ids), isNull(eventTypeMappings.deletedAt)))
      .orderBy(asc(eventTypeMappings.createdAt), asc(eventTypeMappings.id)),
  ]);
  return rows.map((row) => ({
    id: row.id,
    key: row.catalogKey,
    name: row.name,
    description: row.description,
    kind: row.kind,
    preferSameStaff: row.preferSameStaff,
    active: row.active,
    source: row.source,
    segments: segments
      .filter((s) => s.serviceId === row.id)
      .map((s) => ({
        id: s.id,
        position: s.position,
        name: s.name,
        durationMinutes: s.durationMinutes,
        pauseAfterMinutes: s.pauseAfterMinutes,
        mappings: mappings
          .filter((m) => m.segmentId === s.id)
          .map((m) => ({
            id: m.id,
            serviceId: m.serviceId,
            segmentId: m.segmentId,
            position: s.position,
            staffId: m.staffId,
            eventTypeId: m.calcomEventTypeId,
            eventTypeSlug: m.calcomEventTypeSlug,
          })),
      })),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }));
}

export async function getAdminService(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  serviceId: string,
): Promise<ServiceView> {
  await requireService(deps, companyId, serviceId);
  const [view] = await listAdminServices(deps, companyId, serviceId);
  if (view === undefined) throw new Error('the service vanished');
  return view;
}
