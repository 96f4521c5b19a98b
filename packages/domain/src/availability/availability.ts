import { LocalCache } from '@calgate/cache';
import { formatInZone } from '@calgate/time';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import type { DomainDeps } from '../deps.ts';
import { loadServiceCached, type ServiceDefinition, staffOptions } from '../services/catalog.ts';
import { compositeSlots } from './composite-availability.ts';
import { mergeStaffSlots } from './simple-slots.ts';
import { freeStartsByOption, readWindow } from './window.ts';

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
const simpleViews = new LocalCache<
  string,
  { service: ServiceDefinition; inputs: number[][]; validUntil: number; view: AvailabilityView }
>({ name: 'availability-views' });
