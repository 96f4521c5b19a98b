import { AppError } from '@calgate/errors';
import { assertTimeZone, formatInZone, parseWindowBound } from '@calgate/time';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import type { DomainDeps } from '../deps.ts';
import { loadServiceCached, type SegmentStaffOption, type ServiceDefinition } from '../services/catalog.ts';
import { compositeSlots } from './composite-availability.ts';
import { mergeStaffSlots } from './simple-slots.ts';

/** Longest window one availability request may ask for. */
export const MAX_WINDOW_DAYS = 31;

export interface AvailabilityQuery {
  serviceId: string;
  start: string;
  end: string;
  timeZone: string;
  staffId?: string | undefined;
}

export interface AvailabilitySlot {
  start: string;
  end: string;
  staff: Array<{ id: string; name: string }>;
  /** Composite services: every segment with its times and assigned staff, and the pauses. */
  segments?: Array<{
    position: number;
    name: string;
    start: string;
    end: string;
    staff: { id: string; name: string };
  }>;
  pauses?: Array<{ start: string; end: string }>;
}

export interface AvailabilityView {
  serviceId: string;
  timeZone: string;
  start: string;
  end: string;
  slots: AvailabilitySlot[];
}

export interface AvailabilityWindow {
  readonly start: Date;
  readonly end: Date;
}

/**
 * Validates the window and zone of an availability query.
 * @throws AppError INVALID_TIMEZONE or VALIDATION_FAILED naming the field.
 */
export function readWindow(query: Pick<AvailabilityQuery, 'start' | 'end' | 'timeZone'>): AvailabilityWindow {
  const key = `${query.start}|${query.end}|${query.timeZone}`;
  const known = windows.get(key);
  if (known !== undefined) return known;
  const window = parseWindow(query);
  if (windows.size >= 1_000) windows.clear();
  windows.set(key, window);
  return window;
}

/** Windows already read (a pure function of the query): the same question is asked again and again. */
const windows = new Map<string, AvailabilityWindow>();

function parseWindow(query: Pick<AvailabilityQuery, 'start' | 'end' | 'timeZone'>): AvailabilityWindow {
  assertTimeZone(query.timeZone);
  const start = parseWindowBound(query.start, query.timeZone, 'start');
  const end = parseWindowBound(query.end, query.timeZone, 'end', true);
  if (end.getTime() <= start.getTime()) {
    throw new AppError('VALIDATION_FAILED', 'end: must be after start', { details: { field: 'end' } });
  }
  if (end.getTime() - start.getTime() > MAX_WINDOW_DAYS * 86_400_000) {
    throw new AppError('VALIDATION_FAILED', `end: the window may span at most ${MAX_WINDOW_DAYS} days`, {
      details: { field: 'end' },
    });
  }
  return { start, end };
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

/** Free starts (UTC ms) per staff option within the window, through the shared cache and budget. */
export async function freeStartsByOption(
  deps: Pick<DomainDeps, 'slotCache' | 'calcom'>,
  company: CompanyKeySource,
  options: SegmentStaffOption[],
  window: AvailabilityWindow,
  signal?: AbortSignal,
): Promise<Array<{ option: SegmentStaffOption; starts: number[] }>> {
  const { client } = deps.calcom.forCompany(company);
  const ids = [...new Set(options.map((o) => o.eventTypeId))];
  const byEventType = await deps.slotCache.slotStartsMany(client, ids, window.start, window.end, signal);
  return options.map((option) => ({ option, starts: byEventType.get(option.eventTypeId) ?? [] }));
}

/** Free slots of a simple service, with the staff free at each, in the caller's zone. */
export async function getAvailability(
  deps: Pick<DomainDeps, 'db' | 'slotCache' | 'calcom'>,
  company: CompanyKeySource,
  query: AvailabilityQuery,
  signal?: AbortSignal,
): Promise<AvailabilityView> {
  const window = readWindow(query);
  const service = await loadServiceCached(deps.db, company.id, query.serviceId);
  const staffOf = (id: string) => ({ id, name: staffNames(service).get(id) ?? id });
  const zoned = (ms: number) => formatInZone(new Date(ms), query.timeZone);
  const now = Date.now();
  if (service.kind === 'composite') {
    if (query.staffId !== undefined) staffOptions(service, 0, query.staffId);
    const slots = await compositeSlots(deps, company, service, window, query.staffId, signal);
    return {
      serviceId: service.id,
      timeZone: query.timeZone,
      start: zoned(window.start.getTime()),
      end: zoned(window.end.getTime()),
      slots: slots
        .filter((slot) => slot.start > now)
        .map((slot) => ({
          start: zoned(slot.start),
          end: zoned(slot.end),
          staff: [...new Set(slot.segments.map((s) => s.staffId))].map(staffOf),
          segments: slot.segments.map((s) => ({
            position: s.position,
            name: service.segments[s.position]?.name ?? '',
            start: zoned(s.start),
            end: zoned(s.end),
            staff: staffOf(s.staffId),
          })),
          pauses: slot.pauses.map((p) => ({ start: zoned(p.start), end: zoned(p.end) })),
        })),
    };
  }
  const options = staffOptions(service, 0, query.staffId);
  const perOption = await freeStartsByOption(deps, company, options, window, signal);
  const memoKey = `${company.id}|${service.id}|${window.start.getTime()}|${window.end.getTime()}|${query.timeZone}|${query.staffId ?? ''}`;
  const known = simpleViews.get(memoKey);
  if (
    known !== undefined &&
    known.service === service &&
    now < known.validUntil &&
    known.inputs.length === perOption.length &&
    known.inputs.every((starts, i) => starts === perOption[i]?.starts)
  ) {
    return known.view;
  }
  const slots = mergeStaffSlots(
    perOption.map(({ option, starts }) => ({
      staffId: option.staffId,
      starts: starts.filter((s) => s > now),
    })),
    service.totalMinutes,
  ).map((slot) => ({
    start: formatInZone(new Date(slot.start), query.timeZone),
    end: formatInZone(new Date(slot.end), query.timeZone),
    staff: slot.staffIds.map(staffOf),
  }));
  const view = {
    serviceId: service.id,
    timeZone: query.timeZone,
    start: formatInZone(window.start, query.timeZone),
    end: formatInZone(window.end, query.timeZone),
    slots,
  };
  // Valid until the next free start passes (it then drops out of the answer).
  let validUntil = now + VIEW_REUSE_MS;
  for (const { starts } of perOption) {
    const next = starts.find((s) => s > now);
    if (next !== undefined && next < validUntil) validUntil = next;
  }
  if (simpleViews.size > 1_000) simpleViews.clear();
  simpleViews.set(memoKey, { service, inputs: perOption.map((p) => p.starts), validUntil, view });
  return view;
}

/** Staff names of a service definition, built once per definition. */
function staffNames(service: ServiceDefinition): Map<string, string> {
  let names = namesByService.get(service);
  if (names === undefined) {
    names = new Map(service.segments.flatMap((s) => s.options.map((o) => [o.staffId, o.staffName] as const)));
    namesByService.set(service, names);
  }
  return names;
}
const namesByService = new WeakMap<ServiceDefinition, Map<string, string>>();

/** Longest a built answer is reused, even with the same inputs. */
const VIEW_REUSE_MS = 60_000;

/**
 * Answers built from the same inputs (the same service definition and the same cached days, by
 * identity: see `SlotCache`) are reused as they are: the same phone-assistant question asked
 * again costs the Redis lookup, not the building of the slot list.
 */
const simpleViews = new Map<
  string,
  { service: ServiceDefinition; inputs: number[][]; validUntil: number; view: AvailabilityView }
>();
