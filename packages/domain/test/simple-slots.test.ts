import { describe, expect, it } from 'vitest';
import { mergeStaffSlots, nearestAlternatives } from '../src/availability/simple-slots.ts';

describe('simple slots', () => {
  it('merges staff members free at the same start', () => {
    const slots = mergeStaffSlots(
      [
        { staffId: 'stf_a', starts: [0, 1_800_000] },
        { staffId: 'stf_b', starts: [1_800_000, 3_600_000] },
      ],
      30,
    );
    expect(slots).toEqual([
      { start: 0, end: 1_800_000, staffIds: ['stf_a'] },
      { start: 1_800_000, end: 3_600_000, staffIds: ['stf_a', 'stf_b'] },
      { start: 3_600_000, end: 5_400_000, staffIds: ['stf_b'] },
    ]);
  });

  it('offers the nearest free starts, never the taken one', () => {
    const hour = 3_600_000;
    expect(nearestAlternatives([8 * hour, 9 * hour, 10 * hour, 12 * hour, 15 * hour], 10 * hour)).toEqual([
      8 * hour,
      9 * hour,
      12 * hour,
    ]);
    expect(nearestAlternatives([], 0)).toEqual([]);
  });
});
