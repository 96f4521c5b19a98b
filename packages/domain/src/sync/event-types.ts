import { type Account, type EventType, storableId } from '@calgate/calendar';
import {
  companies,
  companyEventTypes,
  eventTypeMappings,
  newId,
  serviceSegments,
  services,
  staff,
  syncState,
} from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, count, eq, inArray, isNull } from 'drizzle-orm';
import { loadCompany } from '../accounts/companies.ts';
import { scopeEventTypes } from '../accounts/scope.ts';
import type { DomainDeps } from '../deps.ts';

export interface Drift {
  eventTypeId: number;
  serviceId: string;
  /** `outOfScope`: the event type exists but is not (any more) the company's. */
  /**
   * `confirmationPolicy`: the event type makes bookings wait for the host, and a multi-segment
   * service uses it (such a booking fails with NOT_SUPPORTED).
   */
  field: 'lengthInMinutes' | 'deleted' | 'outOfScope' | 'confirmationPolicy';
  expected: unknown;
  actual: unknown;
}

export interface EventTypeSyncResult {
  eventTypes: number;
  imported: number;
  deleted: number;
  drift: Drift[];
}

type SyncDeps = Pick<DomainDeps, 'db' | 'calcom' | 'logger'>;

/**
 * Cal.com sends no event-type webhooks, so event types are polled: new ones inside the company's
 * scope become services (source `calcom`, one segment, the account's own staff member), ones gone
 * from Cal.com or from the scope soft-delete their mappings and any service left without one, and
 * differences between what a mapping expects and what Cal.com has are recorded as drift in
 * `sync_state`. A company on the shared account only ever sees the event types assigned to it.
 */
export async function syncEventTypes(deps: SyncDeps, companyId: string): Promise<EventTypeSyncResult> {
  const company = await loadCompany(deps, companyId);
  await markStarted(deps, companyId, 'event_types');
  try {
    const { me, types, outside } = await scopeEventTypes(deps, company);
    if (company.calcomUsername !== me.username || company.calcomUserId !== storableId(me.id)) {
      await deps.db
        .update(companies)
        .set({ calcomUsername: me.username, calcomUserId: storableId(me.id), updatedAt: new Date() })
        .where(eq(companies.id, companyId));
    }
    const result = await applyEventTypes(deps, companyId, me, types, new Set(outside));
    await deps.db
      .update(syncState)
      .set({ lastSucceededAt: new Date(), lastError: null, stats: { ...result } })
      .where(and(eq(syncState.companyId, companyId), eq(syncState.kind, 'event_types')));
    deps.logger.info({ companyId, ...result, drift: result.drift.length }, 'event types synced');
    return result;
  } catch (error) {
    await markFailed(deps, companyId, 'event_types', error);
    throw error;
  }
}

async function applyEventTypes(
  deps: SyncDeps,
  companyId: string,
  me: Account,
  types: EventType[],
  outside: Set<number>,
): Promise<EventTypeSyncResult> {
  const mapped = await deps.db
    .select({ mapping: eventTypeMappings, duration: serviceSegments.durationMinutes })
    .from(eventTypeMappings)
    .innerJoin(serviceSegments, eq(serviceSegments.id, eventTypeMappings.segmentId))
    .where(and(eq(eventTypeMappings.companyId, companyId), isNull(eventTypeMappings.deletedAt)));
  const seen = new Set(types.map((t) => storableId(t.id)));
  const multiSegment = await multiSegmentServices(
    deps,
    mapped.map((m) => m.mapping.serviceId),
  );
  const drift: Drift[] = [];
  let imported = 0;

  for (const type of types) {
    const eventTypeId = storableId(type.id);
    const mine = mapped.filter((m) => m.mapping.calcomEventTypeId === eventTypeId);
    if (mine.length > 0) {
      for (const m of mine) {
        if (m.duration !== type.lengthInMinutes) {
          drift.push({
            eventTypeId,
            serviceId: m.mapping.serviceId,
            field: 'lengthInMinutes',
            expected: m.duration,
            actual: type.lengthInMinutes,
          });
        }
        if (multiSegment.has(m.mapping.serviceId) && needsHostConfirmation(type)) {
          drift.push({
            eventTypeId,
            serviceId: m.mapping.serviceId,
            field: 'confirmationPolicy',
            expected: 'bookings confirmed at once (a multi-segment service)',
            actual: `bookings wait for the host (${type.confirmationPolicy?.type ?? 'always'})`,
          });
        }
        const requiresEmail = requiresAttendeeEmail(type);
        if (m.mapping.calcomEventTypeSlug !== type.slug || m.mapping.requiresEmail !== requiresEmail) {
          await deps.db
            .update(eventTypeMappings)
            .set({ calcomEventTypeSlug: type.slug, requiresEmail, updatedAt: new Date() })
            .where(eq(eventTypeMappings.id, m.mapping.id));
        }
      }
      continue;
    }
    await importEventType(deps, companyId, me, type);
    imported++;
  }

  const gone = mapped.filter((m) => !seen.has(m.mapping.calcomEventTypeId));
  for (const m of gone) {
    drift.push({
      eventTypeId: m.mapping.calcomEventTypeId,
      serviceId: m.mapping.serviceId,
      field: outside.has(m.mapping.calcomEventTypeId) ? 'outOfScope' : 'deleted',
      expected: 'present',
      actual: outside.has(m.mapping.calcomEventTypeId) ? 'not assigned to this company' : 'absent',
    });
  }
  if (gone.length > 0) {
    const now = new Date();
    await deps.db
      .update(eventTypeMappings)
      .set({ deletedAt: now, updatedAt: now })
      .where(
        inArray(
          eventTypeMappings.id,
          gone.map((m) => m.mapping.id),
        ),
      );
    // A service none of whose segments can be booked any more is soft-deleted with it.
    const serviceIds = [...new Set(gone.map((m) => m.mapping.serviceId))];
    const stillBookable = await deps.db
      .selectDistinct({ serviceId: eventTypeMappings.serviceId })
      .from(eventTypeMappings)
      .where(and(inArray(eventTypeMappings.serviceId, serviceIds), isNull(eventTypeMappings.deletedAt)));
    const orphaned = serviceIds.filter((id) => !stillBookable.some((s) => s.serviceId === id));
    if (orphaned.length > 0) {
      await deps.db
        .update(services)
        .set({ deletedAt: now, active: false, updatedAt: now })
        .where(and(inArray(services.id, orphaned), isNull(services.deletedAt)));
    }
  }
  return {
    eventTypes: types.length,
    imported,
    deleted: new Set(gone.map((m) => m.mapping.serviceId)).size,
    drift,
  };
}

/** One event type as a new simple service, booked with its owner (a staff member, created if new). */
export async function importEventType(
  deps: SyncDeps,
  companyId: string,
  me: Account,
  type: EventType,
): Promise<void> {
  const meId = storableId(me.id);
  await deps.db.transaction(async (tx) => {
    const ownerId = storableId(type.ownerId ?? me.id);
    const [existing] = await tx
      .select({ id: staff.id })
      .from(staff)
      .where(and(eq(staff.companyId, companyId), eq(staff.calcomUserId, ownerId)))
      .limit(1);
    const staffId = existing?.id ?? newId('stf');
    if (existing === undefined) {
      await tx.insert(staff).values({
        id: staffId,
        companyId,
        name: ownerId === meId ? me.username : `Cal.com user ${ownerId}`,
        email: ownerId === meId ? me.email : null,
        calcomUserId: ownerId,
        timezone: me.timeZone,
      });
    }
    const serviceId = newId('svc');
    const segmentId = newId('seg');
    await tx.insert(services).values({
      id: serviceId,
      companyId,
      name: type.title,
      description: type.description ?? null,
      kind: 'simple',
      source: 'calcom',
    });
    await tx.insert(serviceSegments).values({
      id: segmentId,
      serviceId,
      position: 0,
      name: type.title,
      durationMinutes: Math.max(1, Math.round(type.lengthInMinutes)),
    });
    await tx.insert(eventTypeMappings).values({
      id: newId('etm'),
      companyId,
      serviceId,
      segmentId,
      staffId,
      calcomEventTypeId: storableId(type.id),
      calcomEventTypeSlug: type.slug,
      requiresEmail: requiresAttendeeEmail(type),
    });
  });
}

/** Whether Cal.com makes the event type's bookings wait for the host's confirmation. */
export function needsHostConfirmation(type: Pick<EventType, 'confirmationPolicy'>): boolean {
  const policy = type.confirmationPolicy;
  return policy !== null && policy !== undefined && policy.disabled !== true;
}

/** Which of these services have more than one segment. */
async function multiSegmentServices(deps: SyncDeps, serviceIds: string[]): Promise<Set<string>> {
  if (serviceIds.length === 0) return new Set();
  const rows = await deps.db
    .select({ serviceId: serviceSegments.serviceId, segments: count() })
    .from(serviceSegments)
    .where(inArray(serviceSegments.serviceId, [...new Set(serviceIds)]))
    .groupBy(serviceSegments.serviceId);
  return new Set(rows.filter((r) => r.segments > 1).map((r) => r.serviceId));
}

/**
 * Whether the event type's booking fields require the attendee's email. Cal.com's default email
 * field is required; only an email field made optional or hidden (allowed together with a required
 * `attendeePhoneNumber` field) lets a booking carry a phone number alone.
 */
export function requiresAttendeeEmail(type: Pick<EventType, 'bookingFields'>): boolean {
  const email = (type.bookingFields ?? []).find(
    (f) => f.slug === 'email' || (f.slug === undefined && f.type === 'email'),
  );
  if (email === undefined) return true;
  return email.required !== false && email.hidden !== true;
}

export async function markStarted(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  kind: 'event_types' | 'bookings',
): Promise<void> {
  await deps.db
    .insert(syncState)
    .values({ companyId, kind, lastStartedAt: new Date() })
    .onConflictDoUpdate({
      target: [syncState.companyId, syncState.kind],
      set: { lastStartedAt: new Date() },
    });
}

export async function markFailed(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  kind: 'event_types' | 'bookings',
  error: unknown,
): Promise<void> {
  await deps.db
    .update(syncState)
    .set({ lastError: error instanceof Error ? error.message.slice(0, 500) : String(error) })
    .where(and(eq(syncState.companyId, companyId), eq(syncState.kind, kind)))
    .catch(() => undefined);
}

/** Ids of every company, for the scheduled fan-out. */
export async function companyIds(deps: Pick<DomainDeps, 'db'>): Promise<string[]> {
  const rows = await deps.db.select({ id: companies.id }).from(companies);
  return rows.map((r) => r.id);
}

/**
 * A new simple service backed by a hidden Cal.com event type created for it (`POST /v2/event-types`
 * with an address location), booked with the account's own staff member.
 */
export async function createServiceWithEventType(
  deps: SyncDeps,
  companyId: string,
  input: { name: string; durationMinutes: number; address?: string; description?: string },
): Promise<{ serviceId: string; eventTypeId: number }> {
  const name = input.name.trim();
  if (name === '')
    throw new AppError('VALIDATION_FAILED', 'name is required', { details: { field: 'name' } });
  if (
    !Number.isInteger(input.durationMinutes) ||
    input.durationMinutes < 1 ||
    input.durationMinutes > 24 * 60
  ) {
    throw new AppError('VALIDATION_FAILED', 'durationMinutes must be a whole number of minutes (1-1440)', {
      details: { field: 'durationMinutes' },
    });
  }
  const company = await loadCompany(deps, companyId);
  const { client } = deps.calcom.forCompany(company);
  const me = await client.getMe();
  const slug = `${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40)}-${newId('x').slice(-6)}`;
  const eventType = await client.createEventType({
    title: name,
    slug,
    lengthInMinutes: input.durationMinutes,
    hidden: true,
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.address === undefined
      ? {}
      : { locations: [{ type: 'address', address: input.address, public: true }] }),
  });
  const eventTypeId = storableId(eventType.id);
  // An event type made for a company on the shared account is that company's alone.
  if (company.calcomApiKeyEncrypted === null) {
    await deps.db.insert(companyEventTypes).values({ calcomEventTypeId: eventTypeId, companyId });
  }
  await importEventType(deps, companyId, me, eventType);
  const [mapping] = await deps.db
    .select({ serviceId: eventTypeMappings.serviceId })
    .from(eventTypeMappings)
    .where(
      and(eq(eventTypeMappings.companyId, companyId), eq(eventTypeMappings.calcomEventTypeId, eventTypeId)),
    )
    .limit(1);
  if (mapping === undefined) throw new Error('the imported service vanished');
  await deps.db.update(services).set({ source: 'local' }).where(eq(services.id, mapping.serviceId));
  return { serviceId: mapping.serviceId, eventTypeId };
}
