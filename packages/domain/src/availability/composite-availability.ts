import type { CompanyKeySource } from '../accounts/calcom-access.ts';
import type { DomainDeps } from '../deps.ts';
import type { ServiceDefinition } from '../services/catalog.ts';
import { type AvailabilityWindow, freeStartsByOption } from './availability.ts';
import { type CompositeSlot, combineSegments, segmentOffsets } from './composite-slots.ts';

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
