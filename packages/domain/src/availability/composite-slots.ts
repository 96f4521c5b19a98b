/** One segment of a composite service, with the free starts (UTC ms) of each qualified staff member. */
export interface SegmentAvailability {
  durationMinutes: number;
  /** Staff are free during this pause; the next segment starts after it. */
  pauseAfterMinutes: number;
  /** In preference order (the first free one is assigned). */
  options: ReadonlyArray<{ staffId: string; starts: ReadonlySet<number> }>;
}

export interface CompositeSlot {
  start: number;
  end: number;
  segments: Array<{ position: number; start: number; end: number; staffId: string }>;
  pauses: Array<{ start: number; end: number }>;
}

const MINUTE = 60_000;

/** Offsets of each segment from the appointment start, in ms. */
export function segmentOffsets(
  segments: ReadonlyArray<Pick<SegmentAvailability, 'durationMinutes' | 'pauseAfterMinutes'>>,
): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const segment of segments) {
    offsets.push(at);
    at += (segment.durationMinutes + segment.pauseAfterMinutes) * MINUTE;
  }
  return offsets;
}

/**
 * Composite slots: a start is offered only if every segment has a qualified staff member free at
 * exactly its offset. Candidates are the first segment's free starts, so the work is linear in the
 * number of slots (one set lookup per segment and staff member). With `preferSameStaff`, one staff
 * member free for every segment is chosen when there is one.
 */
export function combineSegments(
  segments: readonly SegmentAvailability[],
  options: { preferSameStaff?: boolean } = {},
): CompositeSlot[] {
  const [first] = segments;
  if (first === undefined) return [];
  const offsets = segmentOffsets(segments);
  const candidates = new Set<number>();
  for (const option of first.options) for (const start of option.starts) candidates.add(start);
  const slots: CompositeSlot[] = [];
  for (const start of [...candidates].sort((a, b) => a - b)) {
    const free = segments.map((segment, i) =>
      segment.options
        .filter((option) => option.starts.has(start + (offsets[i] ?? 0)))
        .map((option) => option.staffId),
    );
    if (free.some((staff) => staff.length === 0)) continue;
    const same =
      options.preferSameStaff === true
        ? free[0]?.find((id) => free.every((staff) => staff.includes(id)))
        : undefined;
    const assigned = free.map((staff) => same ?? (staff[0] as string));
    const parts = segments.map((segment, i) => {
      const segmentStart = start + (offsets[i] ?? 0);
      return {
        position: i,
        start: segmentStart,
        end: segmentStart + segment.durationMinutes * MINUTE,
        staffId: assigned[i] as string,
      };
    });
    const last = parts.at(-1);
    slots.push({
      start,
      end: last?.end ?? start,
      segments: parts,
      pauses: segments.slice(0, -1).flatMap((segment, i) => {
        const pauseStart = parts[i]?.end ?? start;
        return segment.pauseAfterMinutes > 0
          ? [{ start: pauseStart, end: pauseStart + segment.pauseAfterMinutes * MINUTE }]
          : [];
      }),
    });
  }
  return slots;
}
