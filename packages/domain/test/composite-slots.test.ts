import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  combineSegments,
  type SegmentAvailability,
  segmentOffsets,
} from '../src/availability/composite-slots.ts';

const MINUTE = 60_000;
const GRID = 5 * MINUTE;
const DAY_SLOTS = 120; // ten hours of 5-minute grid points

/** Random segments (1-4) with 1-4 staff each, free on random subsets of a 5-minute grid. */
const scenario = fc
  .array(
    fc.record({
      durationMinutes: fc.integer({ min: 1, max: 12 }).map((n) => n * 5),
      pauseAfterMinutes: fc.integer({ min: 0, max: 6 }).map((n) => n * 5),
      options: fc.array(fc.uniqueArray(fc.integer({ min: 0, max: DAY_SLOTS }), { maxLength: 60 }), {
        minLength: 1,
        maxLength: 4,
      }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((raw) =>
    raw.map(
      (segment, position): SegmentAvailability => ({
        durationMinutes: segment.durationMinutes,
        pauseAfterMinutes: segment.pauseAfterMinutes,
        options: segment.options.map((points, i) => ({
          staffId: `stf_${position}_${i % 2}`,
          starts: new Set(points.map((p) => p * GRID)),
        })),
      }),
    ),
  );

/** Every grid start checked directly: the reference the linear algorithm must match. */
function bruteForce(segments: SegmentAvailability[]): number[] {
  const offsets = segmentOffsets(segments);
  const found: number[] = [];
  for (let point = 0; point <= DAY_SLOTS; point++) {
    const start = point * GRID;
    if (segments.every((segment, i) => segment.options.some((o) => o.starts.has(start + (offsets[i] ?? 0)))))
      found.push(start);
  }
  return found;
}

describe('combineSegments', () => {
  it('offers exactly the bookable starts of the grid (property, against brute force)', () => {
    fc.assert(
      fc.property(scenario, (segments) => {
        expect(combineSegments(segments).map((slot) => slot.start)).toEqual(bruteForce(segments));
      }),
      { numRuns: 500 },
    );
  });

  it('assigns to every segment a staff member free at exactly its offset (property)', () => {
    fc.assert(
      fc.property(scenario, fc.boolean(), (segments, preferSameStaff) => {
        for (const slot of combineSegments(segments, { preferSameStaff })) {
          let expected = slot.start;
          slot.segments.forEach((part, i) => {
            const segment = segments[i] as SegmentAvailability;
            expect(part.start).toBe(expected);
            expect(part.end - part.start).toBe(segment.durationMinutes * MINUTE);
            const option = segment.options.find(
              (o) => o.staffId === part.staffId && o.starts.has(part.start),
            );
            expect(option).toBeDefined();
            expected = part.end + segment.pauseAfterMinutes * MINUTE;
          });
          expect(slot.end).toBe(slot.segments.at(-1)?.end);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps one staff member for every segment when asked and possible', () => {
    const all = new Set([0, 30 * MINUTE, 60 * MINUTE, 90 * MINUTE]);
    const segments: SegmentAvailability[] = [
      {
        durationMinutes: 30,
        pauseAfterMinutes: 30,
        options: [
          { staffId: 'a', starts: all },
          { staffId: 'b', starts: all },
        ],
      },
      {
        durationMinutes: 30,
        pauseAfterMinutes: 0,
        options: [
          { staffId: 'a', starts: new Set([60 * MINUTE]) },
          { staffId: 'b', starts: all },
        ],
      },
    ];
    const [withPreference] = combineSegments(segments, { preferSameStaff: true });
    expect(withPreference?.segments.map((s) => s.staffId)).toEqual(['a', 'a']);
    expect(withPreference?.pauses).toEqual([{ start: 30 * MINUTE, end: 60 * MINUTE }]);
    // At 00:30 only b is free for the second segment, and b is free for the first too.
    expect(combineSegments(segments, { preferSameStaff: true })[1]?.segments.map((s) => s.staffId)).toEqual([
      'b',
      'b',
    ]);
    const split: SegmentAvailability[] = [
      { durationMinutes: 30, pauseAfterMinutes: 0, options: [{ staffId: 'a', starts: new Set([0]) }] },
      {
        durationMinutes: 30,
        pauseAfterMinutes: 0,
        options: [{ staffId: 'b', starts: new Set([30 * MINUTE]) }],
      },
    ];
    expect(combineSegments(split, { preferSameStaff: true })[0]?.segments.map((s) => s.staffId)).toEqual([
      'a',
      'b',
    ]);
  });

  it('offers nothing when a segment has nobody', () => {
    expect(combineSegments([{ durationMinutes: 30, pauseAfterMinutes: 0, options: [] }])).toEqual([]);
    expect(combineSegments([])).toEqual([]);
  });
});
