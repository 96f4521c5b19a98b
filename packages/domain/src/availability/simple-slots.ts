/** A free start for a simple service and the staff members free then. */
export interface StaffSlot {
  start: number;
  end: number;
  staffIds: string[];
}

/**
 * Merges per-staff free starts into one sorted list of starts, each with every staff member
 * free at it (staff order as given, so callers can put a preferred member first).
 */
export function mergeStaffSlots(
  perStaff: ReadonlyArray<{ staffId: string; starts: readonly number[] }>,
  durationMinutes: number,
): StaffSlot[] {
  const byStart = new Map<number, string[]>();
  for (const { staffId, starts } of perStaff) {
    for (const start of starts) {
      const staff = byStart.get(start);
      if (staff === undefined) byStart.set(start, [staffId]);
      else if (!staff.includes(staffId)) staff.push(staffId);
    }
  }
  return [...byStart.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, staffIds]) => ({ start, end: start + durationMinutes * 60_000, staffIds }));
}

/**
 * Up to `count` free starts nearest to the requested one (ties: the earlier first), never the
 * requested start itself — what a caller offers after SLOT_UNAVAILABLE.
 */
export function nearestAlternatives(freeStarts: readonly number[], requested: number, count = 3): number[] {
  return [...new Set(freeStarts)]
    .filter((start) => start !== requested)
    .sort((a, b) => Math.abs(a - requested) - Math.abs(b - requested) || a - b)
    .slice(0, count)
    .sort((a, b) => a - b);
}
