import { type EventType, storableId } from '@calgate/calendar';
import { AppError } from '@calgate/errors';
import { scopeEventTypes } from '../accounts/scope.ts';
import type { DomainDeps } from '../deps.ts';
import { requireCompany } from './companies.ts';

/** Event types per company, fetched once per operation (a catalog maps dozens of them). */
export type EventTypeMemo = Map<string, Promise<Map<number, EventType>>>;

/**
 * The Cal.com event type `eventTypeId` as the company's connection sees it, inside the company's
 * scope (its own account, or what it was assigned of the shared one), or undefined when it is not
 * there. The one place where an
 * admin operation decides whether an event type belongs to a company.
 */
export async function findCompanyEventType(
  deps: Pick<DomainDeps, 'db' | 'calcom'>,
  companyId: string,
  eventTypeId: number,
  memo: EventTypeMemo = new Map(),
): Promise<EventType | undefined> {
  let types = memo.get(companyId);
  if (types === undefined) {
    types = (async () => {
      const company = await requireCompany(deps, companyId);
      // Only the company's scope: its own account, or the event types of the shared account
      // assigned to it (`company:scope`), never everything the shared key can see.
      const { types: list } = await scopeEventTypes(deps, company);
      return new Map(list.map((type) => [storableId(type.id), type]));
    })();
    memo.set(companyId, types);
    types.catch(() => memo.delete(companyId));
  }
  return (await types).get(eventTypeId);
}

/** One way a mapping disagrees with Cal.com. */
export interface Mismatch {
  /** Where in the request (or catalog file) the offending value is. */
  field: string;
  /** What disagrees: the event type is not there, or its length is not the segment's duration. */
  property: 'eventType' | 'lengthInMinutes';
  /** What the field would have to be (for a length: the other side's minutes). */
  expected: unknown;
  /** What it is. */
  actual: unknown;
  eventTypeId: number;
}

/**
 * Checks that the event type exists for the company's connection and is as long as the segment
 * it books; returns what does not match (nothing when all is well). `given` says which side the
 * caller is setting: the event type of a mapping (then the segment's duration is expected) or a
 * segment's duration (then the event type's length is expected).
 */
export async function checkEventType(
  deps: Pick<DomainDeps, 'db' | 'calcom'>,
  companyId: string,
  check: { eventTypeId: number; durationMinutes: number; field: string; given: 'eventType' | 'duration' },
  memo?: EventTypeMemo,
): Promise<Mismatch | undefined> {
  const type = await findCompanyEventType(deps, companyId, check.eventTypeId, memo);
  if (type === undefined) {
    return {
      field: check.field,
      property: 'eventType',
      expected: "an event type of the company's Cal.com connection, inside its scope",
      actual: `event type ${check.eventTypeId} not found`,
      eventTypeId: check.eventTypeId,
    };
  }
  if (type.lengthInMinutes === check.durationMinutes) return undefined;
  const segmentSide = check.given === 'eventType';
  return {
    field: check.field,
    property: 'lengthInMinutes',
    expected: segmentSide ? check.durationMinutes : type.lengthInMinutes,
    actual: segmentSide ? type.lengthInMinutes : check.durationMinutes,
    eventTypeId: check.eventTypeId,
  };
}

function describe(m: Mismatch): string {
  if (m.property === 'eventType')
    return `${m.field}: ${String(m.actual)} in the company's scope of its Cal.com connection`;
  return `${m.field}: lengthInMinutes of event type ${m.eventTypeId} and the segment's durationMinutes differ (expected ${String(m.expected)}, actual ${String(m.actual)})`;
}

/** The 422 for one or more mismatches: the message names each (field, expected, actual). */
export function mismatchError(mismatches: Mismatch[]): AppError {
  const shown = mismatches.slice(0, 5).map(describe).join('; ');
  const more = mismatches.length > 5 ? `; and ${mismatches.length - 5} more` : '';
  const first = mismatches[0];
  return new AppError('EVENT_TYPE_MISMATCH', `${shown}${more}`, {
    details: {
      ...(first === undefined
        ? {}
        : { field: first.field, property: first.property, expected: first.expected, actual: first.actual }),
      mismatches,
    },
  });
}
