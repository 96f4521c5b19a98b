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
  // Where each segment and pause lies from the appointment's start: the same for every slot.
  const spans = segments.map((segment, i) => ({
    offset: offsets[i] ?? 0,
    length: segment.durationMinutes * MINUTE,
  }));
  const pauseSpans = segments.slice(0, -1).flatMap((segment, i) =>
    segment.pauseAfterMinutes > 0
      ? [
          {
            offset: (offsets[i] ?? 0) + segment.durationMinutes * MINUTE,
            length: segment.pauseAfterMinutes * MINUTE,
          },
        ]
      : [],
  );
  const last = spans.at(-1) ?? { offset: 0, length: 0 };
  const slots: CompositeSlot[] = [];
  const assign = options.preferSameStaff === true ? assignSameStaff : assignFirstFree;
  for (const start of [...candidates].sort((a, b) => a - b)) {
    const assigned = assign(segments, offsets, start);
    if (assigned === undefined) continue;
    slots.push({
      start,
      end: start + last.offset + last.length,
      segments: spans.map((span, i) => ({
        position: i,
        start: start + span.offset,
        end: start + span.offset + span.length,
        staffId: assigned[i] as string,
      })),
      pauses: pauseSpans.map((pause) => ({
        start: start + pause.offset,
        end: start + pause.offset + pause.length,
      })),
    });
  }
  return slots;
}

/** Each segment's first qualified staff member free at its offset, or undefined if one has none. */
function assignFirstFree(
  segments: readonly SegmentAvailability[],
  offsets: number[],
  start: number,
): string[] | undefined {
  // One set lookup per staff member tried, stopping at the first free one: most starts of a
  // long window are decided after a lookup or two per segment.
  const assigned: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const at = start + (offsets[i] ?? 0);
    const free = segments[i]?.options.find((option) => option.starts.has(at));
    if (free === undefined) return undefined;
    assigned.push(free.staffId);
  }
  return assigned;
}

/** One staff member free for every segment when there is one, else each segment's first free. */
function assignSameStaff(
  segments: readonly SegmentAvailability[],
  offsets: number[],
  start: number,
): string[] | undefined {
  const free = segments.map((segment, i) =>
    segment.options
      .filter((option) => option.starts.has(start + (offsets[i] ?? 0)))
      .map((option) => option.staffId),
  );
  if (free.some((staff) => staff.length === 0)) return undefined;
  const same = free[0]?.find((id) => free.every((staff) => staff.includes(id)));
  return free.map((staff) => same ?? (staff[0] as string));
}
