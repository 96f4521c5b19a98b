import { type Account, type EventType, storableId } from '@calgate/calendar';
import { companies, companyEventTypes, type Database, eventTypeMappings } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, eq, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';

/**
 * What part of a Cal.com account a company owns. With its own key it owns the whole account
 * (`account`); on the shared default key it owns exactly the event types assigned to it
 * (`assigned`), never everything that key can see.
 */
export type CompanyScope =
  | { companyId: string; kind: 'account' }
  | { companyId: string; kind: 'assigned'; eventTypeIds: number[] };

interface ScopeCompany {
  id: string;
  calcomApiKeyEncrypted: string | null;
}

/** The company's id and stored key, or NOT_FOUND naming `companyId`. */
export async function scopeCompany(db: Database, companyId: string): Promise<ScopeCompany> {
  const [company] = await db
    .select({ id: companies.id, calcomApiKeyEncrypted: companies.calcomApiKeyEncrypted })
    .from(companies)
    .where(eq(companies.id, companyId))
    .limit(1);
  if (company === undefined) {
    throw new AppError('NOT_FOUND', `No company ${companyId.slice(0, 64)}`, {
      details: { field: 'companyId' },
    });
  }
  return company;
}

/** A company's scope: its whole account, or the event types assigned to it in the shared account. */
export async function companyScope(db: Database, companyId: string): Promise<CompanyScope> {
  const company = await scopeCompany(db, companyId);
  if (company.calcomApiKeyEncrypted !== null) return { companyId, kind: 'account' };
  const rows = await db
    .select({ id: companyEventTypes.calcomEventTypeId })
    .from(companyEventTypes)
    .where(eq(companyEventTypes.companyId, companyId))
    .orderBy(companyEventTypes.calcomEventTypeId);
  return { companyId, kind: 'assigned', eventTypeIds: rows.map((r) => r.id) };
}

/** Whether a scope holds an event type. */
export function scopeContains(scope: CompanyScope, eventTypeId: number): boolean {
  return scope.kind === 'account' || scope.eventTypeIds.includes(eventTypeId);
}

/**
 * Is this event type inside this company's scope? A company with its own key owns its whole
 * account (whether the event type exists there is Cal.com's to answer: see `scopeEventTypes`); a
 * company on the shared account owns only the event types assigned to it (and no booking whose
 * event type is unknown, `null`).
 */
export async function eventTypeInScope(
  db: Database,
  companyId: string,
  eventTypeId: number | null,
): Promise<boolean> {
  // One query: this runs for every webhook delivery and reconciled booking.
  const [row] = await db
    .select({
      inScope: sql<boolean>`${companies.calcomApiKeyEncrypted} is not null or exists (
        select 1 from ${companyEventTypes} s
        where s.company_id = ${companies.id} and s.calcom_event_type_id = ${eventTypeId})`,
    })
    .from(companies)
    .where(eq(companies.id, companyId))
    .limit(1);
  if (row === undefined) {
    throw new AppError('NOT_FOUND', `No company ${companyId.slice(0, 64)}`, {
      details: { field: 'companyId' },
    });
  }
  return row.inScope;
}

/**
 * The event types of a company's scope as Cal.com has them now (one `GET /v2/me` and one
 * `GET /v2/event-types?username=`): every event type of its own account, or those of the shared
 * account assigned to it; `outside` are the ids the key sees that the company does not own.
 */
export async function scopeEventTypes(
  deps: Pick<DomainDeps, 'db' | 'calcom'>,
  company: ScopeCompany,
): Promise<{ me: Account; types: EventType[]; outside: number[] }> {
  const scope = await companyScope(deps.db, company.id);
  const { client } = deps.calcom.forCompany(company);
  const me = await client.getMe();
  const all = await client.listEventTypes({ username: me.username });
  return {
    me,
    types: all.filter((type) => scopeContains(scope, storableId(type.id))),
    outside: all.map((type) => storableId(type.id)).filter((id) => !scopeContains(scope, id)),
  };
}

/**
 * The company on the shared account that owns an event type, if any: where a delivery to the
 * global webhook URL goes.
 */
export async function sharedAccountOwner(db: Database, eventTypeId: number): Promise<string | undefined> {
  const [row] = await db
    .select({ companyId: companyEventTypes.companyId })
    .from(companyEventTypes)
    .innerJoin(companies, eq(companies.id, companyEventTypes.companyId))
    .where(and(eq(companyEventTypes.calcomEventTypeId, eventTypeId), isNull(companies.calcomApiKeyEncrypted)))
    .limit(1);
  return row?.companyId;
}

/**
 * A SQL condition that holds for a mapping row whose event type lies inside its company's scope,
 * for queries over `event_type_mappings`: mappings outside it are never offered or booked.
 */
export function mappingInScope(): SQL {
  return sql`exists (
    select 1 from ${companies} c
    where c.id = ${eventTypeMappings.companyId}
      and (c.calcom_api_key_encrypted is not null or exists (
        select 1 from ${companyEventTypes} s
        where s.company_id = c.id and s.calcom_event_type_id = ${eventTypeMappings.calcomEventTypeId})))`;
}

/** The largest id PostgreSQL's `integer` columns (Cal.com's own ids among them) can hold. */
export const MAX_EVENT_TYPE_ID = 2_147_483_647;

function checkIds(eventTypeIds: number[], field = 'eventTypeIds'): void {
  if (
    eventTypeIds.length === 0 ||
    eventTypeIds.some((id) => !Number.isInteger(id) || id < 1 || id > MAX_EVENT_TYPE_ID)
  ) {
    throw new AppError(
      'VALIDATION_FAILED',
      `${field} must be Cal.com event type ids: whole numbers from 1 to ${MAX_EVENT_TYPE_ID}`,
      { details: { field } },
    );
  }
}

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * Takes event types out of a company's scope and gives it others, in one transaction: when any
 * part is refused (an id owned by another company, an id out of range), nothing changes.
 * @throws AppError VALIDATION_FAILED, INVALID_STATE (see `assignEventTypes`).
 */
export async function changeEventTypeScope(
  db: Database,
  companyId: string,
  change: { assign: number[]; unassign: number[] },
): Promise<{ assigned: number[]; already: number[]; unassigned: number[] }> {
  if (change.assign.length > 0) checkIds(change.assign, 'assign');
  if (change.unassign.length > 0) checkIds(change.unassign, 'unassign');
  const both = change.assign.filter((id) => change.unassign.includes(id));
  if (both.length > 0) {
    throw new AppError('VALIDATION_FAILED', `assign and unassign both name event type ${both.join(', ')}`, {
      details: { field: 'assign', eventTypeIds: both },
    });
  }
  const company = await scopeCompany(db, companyId);
  if (change.assign.length > 0) refuseOwnKey(company);
  return db.transaction(async (tx) => {
    const unassigned = change.unassign.length > 0 ? await unassignIn(tx, companyId, change.unassign) : [];
    const assigned =
      change.assign.length > 0 ? await assignIn(tx, companyId, change.assign) : { assigned: [], already: [] };
    return { ...assigned, unassigned };
  });
}

function refuseOwnKey(company: ScopeCompany): void {
  if (company.calcomApiKeyEncrypted !== null) {
    throw new AppError(
      'VALIDATION_FAILED',
      'The company has its own Cal.com key: its scope is its whole account, nothing is assigned',
      { details: { field: 'companyId' } },
    );
  }
}

/**
 * Assigns event types of the shared account to a company. Idempotent for the company's own;
 * an event type another company owns is refused (it must be unassigned there first).
 * @throws AppError VALIDATION_FAILED (the company has its own key), INVALID_STATE (owned by another company).
 */
export async function assignEventTypes(
  db: Database,
  companyId: string,
  eventTypeIds: number[],
): Promise<{ assigned: number[]; already: number[] }> {
  checkIds(eventTypeIds);
  refuseOwnKey(await scopeCompany(db, companyId));
  return db.transaction((tx) => assignIn(tx, companyId, eventTypeIds));
}

async function assignIn(
  tx: Tx,
  companyId: string,
  eventTypeIds: number[],
): Promise<{ assigned: number[]; already: number[] }> {
  const ids = [...new Set(eventTypeIds)];
  const owned = await tx
    .select()
    .from(companyEventTypes)
    .where(inArray(companyEventTypes.calcomEventTypeId, ids))
    .for('update');
  const foreign = owned.filter((row) => row.companyId !== companyId);
  if (foreign.length > 0) {
    throw new AppError(
      'INVALID_STATE',
      `Event type ${foreign.map((r) => r.calcomEventTypeId).join(', ')} belongs to another company; unassign it there first`,
      { details: { field: 'eventTypeIds', eventTypeIds: foreign.map((r) => r.calcomEventTypeId) } },
    );
  }
  const already = owned.map((r) => r.calcomEventTypeId);
  const fresh = ids.filter((id) => !already.includes(id));
  if (fresh.length > 0) {
    // A concurrent assignment of the same id fails on the primary key instead of sharing it.
    await tx.insert(companyEventTypes).values(fresh.map((id) => ({ calcomEventTypeId: id, companyId })));
  }
  return { assigned: fresh, already };
}

/**
 * Takes event types out of a company's scope; its mappings to them are soft-deleted at once, so
 * they are neither offered nor booked any more (existing appointments stay as they are).
 */
export async function unassignEventTypes(
  db: Database,
  companyId: string,
  eventTypeIds: number[],
): Promise<{ unassigned: number[] }> {
  checkIds(eventTypeIds);
  await scopeCompany(db, companyId);
  return { unassigned: await db.transaction((tx) => unassignIn(tx, companyId, eventTypeIds)) };
}

/** Deletes the company's ownership of the ids and soft-deletes its mappings to them. */
export async function unassignIn(tx: Tx, companyId: string, eventTypeIds: number[]): Promise<number[]> {
  const removed = await tx
    .delete(companyEventTypes)
    .where(
      and(
        eq(companyEventTypes.companyId, companyId),
        inArray(companyEventTypes.calcomEventTypeId, eventTypeIds),
      ),
    )
    .returning({ id: companyEventTypes.calcomEventTypeId });
  const ids = removed.map((r) => r.id);
  if (ids.length > 0) {
    const now = new Date();
    await tx
      .update(eventTypeMappings)
      .set({ deletedAt: now, updatedAt: now })
      .where(
        and(
          eq(eventTypeMappings.companyId, companyId),
          inArray(eventTypeMappings.calcomEventTypeId, ids),
          isNull(eventTypeMappings.deletedAt),
        ),
      );
  }
  return ids;
}
