import { AppError } from '@calgate/errors';
import { formatInZone } from '@calgate/time';
import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import type { DomainDeps } from '../deps.ts';
import type { ServiceDefinition } from '../services/catalog.ts';
import { type CompositeSlot, combineSegments, segmentOffsets } from './composite-slots.ts';
import { nearestAlternatives } from './simple-slots.ts';
import { type AvailabilityWindow, freeStartsByOption } from './window.ts';

/**
 * Composite slots of a service in a window. Each segment's availability is fetched once per
 * (event type, window shifted by the segment's offset), all in parallel, through the shared cache
 * and budget; the combination is the pure `combineSegments`.
 */
export async function compositeSlots(
  deps: Pick<DomainDeps, 'slotCache' | 'calcom'>,
  company: CompanyKeySource,
  service: ServiceDefinition,
  window: AvailabilityWindow,
  staffId?: string,
  signal?: AbortSignal,
): Promise<CompositeSlot[]> {
  const offsets = segmentOffsets(service.segments);
  const perSegment = await Promise.all(
    service.segments.map(async (segment, i) => {
      const offset = offsets[i] ?? 0;
      const options =
        staffId === undefined ? segment.options : segment.options.filter((o) => o.staffId === staffId);
      const shifted = {
        start: new Date(window.start.getTime() + offset),
        end: new Date(window.end.getTime() + offset),
      };
      const free = await freeStartsByOption(deps, company, options, shifted, signal);
      return {
        durationMinutes: segment.durationMinutes,
        pauseAfterMinutes: segment.pauseAfterMinutes,
        options: free.map(({ option, starts }) => ({ staffId: option.staffId, starts: new Set(starts) })),
      };
    }),
  );
  return combineSegments(perSegment, { preferSameStaff: service.preferSameStaff || staffId !== undefined });
}

/**
 * Plans a composite appointment at `start`: every segment with a staff member free at exactly its
 * offset (from the shared availability cache), or SLOT_UNAVAILABLE with the nearest alternatives.
 */
export async function planComposite(
  deps: Pick<DomainDeps, 'slotCache' | 'calcom'>,
  company: CompanyKeySource,
  service: ServiceDefinition,
  start: Date,
  timeZone: string,
  staffId?: string,
): Promise<CompositeSlot> {
  const at = start.getTime();
  const slots = await compositeSlots(deps, company, service, { start, end: new Date(at + 60_000) }, staffId);
  const slot = slots.find((candidate) => candidate.start === at);
  if (slot !== undefined) return slot;
  throw new AppError('SLOT_UNAVAILABLE', 'The requested slot is no longer available', {
    details: { alternatives: await compositeAlternatives(deps, company, service, start, timeZone, staffId) },
  });
}

/** Up to three composite starts nearest `start` (within a day either side) that are bookable now. */
export async function compositeAlternatives(
  deps: Pick<DomainDeps, 'slotCache' | 'calcom'>,
  company: CompanyKeySource,
  service: ServiceDefinition,
  start: Date,
  timeZone: string,
  staffId?: string,
): Promise<Array<{ start: string; end: string; staff: string[] }>> {
  const at = start.getTime();
  const around = await compositeSlots(
    deps,
    company,
    service,
    { start: new Date(Math.max(Date.now(), at - 86_400_000)), end: new Date(at + 86_400_000) },
    staffId,
  ).catch(() => []);
  const durationMs = service.totalMinutes * 60_000;
  return nearestAlternatives(
    around.map((s) => s.start),
    at,
  ).map((s) => ({
    start: formatInZone(new Date(s), timeZone),
    end: formatInZone(new Date(s + durationMs), timeZone),
    staff: [...new Set(around.find((c) => c.start === s)?.segments.map((p) => p.staffId) ?? [])],
  }));
}
