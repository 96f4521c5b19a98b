import { eventTypeMappings, newId, serviceSegments } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, eq, isNull } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';
import { forgetCachedServices } from '../services/catalog.ts';
import { requireCompany } from './companies.ts';
import { checkEventType, type EventTypeMemo, findCompanyEventType, mismatchError } from './event-types.ts';
import { type MappingView, requireService } from './services.ts';
import { requireStaff } from './staff.ts';

type Deps = Pick<DomainDeps, 'db' | 'calcom'>;
type MappingRow = typeof eventTypeMappings.$inferSelect;

export interface MappingInput {
  serviceId: string;
  /** The segment's position in its service (0 for a simple service). */
  position: number;
  staffId: string;
  eventTypeId: number;
}

function view(row: MappingRow, position: number): MappingView {
  return {
    id: row.id,
    serviceId: row.serviceId,
    segmentId: row.segmentId,
    position,
    staffId: row.staffId,
    eventTypeId: row.calcomEventTypeId,
    eventTypeSlug: row.calcomEventTypeSlug,
  };
}

/**
 * Says which Cal.com event type books a segment with a staff member (replacing the one it had).
 * Checked against Cal.com first: the event type must exist for the company's connection and last
 * as long as the segment, or the answer is 422 EVENT_TYPE_MISMATCH naming the difference.
 */
export async function saveMapping(
  deps: Deps,
  companyId: string,
  input: MappingInput,
  memo: EventTypeMemo = new Map(),
): Promise<{ mapping: MappingView; created: boolean }> {
  await requireCompany(deps, companyId);
  await requireService(deps, companyId, input.serviceId);
  await requireStaff(deps, companyId, input.staffId);
  const [segment] = await deps.db
    .select()
    .from(serviceSegments)
    .where(and(eq(serviceSegments.serviceId, input.serviceId), eq(serviceSegments.position, input.position)))
    .limit(1);
  if (segment === undefined) {
    throw new AppError('VALIDATION_FAILED', `position: the service has no segment ${input.position}`, {
      details: { field: 'position' },
    });
  }
  const mismatch = await checkEventType(
    deps,
    companyId,
    {
      eventTypeId: input.eventTypeId,
      durationMinutes: segment.durationMinutes,
      field: 'eventTypeId',
      given: 'eventType',
    },
    memo,
  );
  if (mismatch !== undefined) throw mismatchError([mismatch]);
  const type = await findCompanyEventType(deps, companyId, input.eventTypeId, memo);
  const slug = type?.slug ?? null;

  const [current] = await deps.db
    .select()
    .from(eventTypeMappings)
    .where(
      and(
        eq(eventTypeMappings.segmentId, segment.id),
        eq(eventTypeMappings.staffId, input.staffId),
        isNull(eventTypeMappings.deletedAt),
      ),
    )
    .limit(1);
  if (current !== undefined) {
    if (current.calcomEventTypeId === input.eventTypeId && current.calcomEventTypeSlug === slug) {
      return { mapping: view(current, segment.position), created: false };
    }
    const [updated] = await deps.db
      .update(eventTypeMappings)
      .set({ calcomEventTypeId: input.eventTypeId, calcomEventTypeSlug: slug, updatedAt: new Date() })
      .where(eq(eventTypeMappings.id, current.id))
      .returning();
    forgetCachedServices();
    return { mapping: view(updated ?? current, segment.position), created: false };
  }
  const [inserted] = await deps.db
    .insert(eventTypeMappings)
    .values({
      id: newId('etm'),
      companyId,
      serviceId: input.serviceId,
      segmentId: segment.id,
      staffId: input.staffId,
      calcomEventTypeId: input.eventTypeId,
      calcomEventTypeSlug: slug,
    })
    .returning();
  if (inserted === undefined) throw new Error('mapping insert returned nothing');
  forgetCachedServices();
  return { mapping: view(inserted, segment.position), created: true };
}

/**
 * Removes a mapping (kept, marked deleted): that staff member no longer books that segment.
 * Existing appointments keep the event type they were booked with.
 */
export async function deleteMapping(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  mappingId: string,
): Promise<void> {
  await requireCompany(deps, companyId);
  const [row] = await deps.db
    .update(eventTypeMappings)
    .set({ deletedAt: new Date(), updatedAt: new Date() })
    .where(
      and(
        eq(eventTypeMappings.id, mappingId),
        eq(eventTypeMappings.companyId, companyId),
        isNull(eventTypeMappings.deletedAt),
      ),
    )
    .returning({ id: eventTypeMappings.id });
  forgetCachedServices();
  if (row === undefined) {
    throw new AppError('NOT_FOUND', `mappingId: no mapping ${mappingId.slice(0, 64)}`, {
      details: { field: 'mappingId' },
    });
  }
}
