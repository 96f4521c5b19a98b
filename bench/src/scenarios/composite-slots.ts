/** Benchmark 6: composite slot computation, in process, 7/14/28 days. */
import { performance } from 'node:perf_hooks';
import { combineSegments, type SegmentAvailability } from '@calgate/domain';
import { add, fmt, raw } from '../report.ts';
import { say } from '../setup.ts';

export async function compositeSlots(): Promise<void> {
  say('6: composite slot computation');

  const build = (days: number): SegmentAvailability[] => {
    const startMs = Date.UTC(2027, 0, 4);
    const durations = [45, 30, 15];
    const pauses = [30, 0, 0];
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    return durations.map((duration, s) => ({
      durationMinutes: duration,
      pauseAfterMinutes: pauses[s] as number,
      options: Array.from({ length: 10 }, (_, staff) => {
        const starts = new Set<number>();
        for (let minute = 0; minute < days * 24 * 60; minute += 5) {
          const hour = (minute / 60) % 24;
          if (hour >= 8 && hour < 18 && random() < 0.7) starts.add(startMs + minute * 60_000);
        }
        return { staffId: `staff-${s}-${staff}`, starts };
      }),
    }));
  };
  const time = (days: number) => {
    const input = build(days);
    combineSegments(input);
    const samples: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      combineSegments(input);
      samples.push(performance.now() - t);
    }
    samples.sort((x, y) => x - y);
    return samples[Math.floor(samples.length / 2)] as number;
  };
  const d7 = time(7);
  const d14 = time(14);
  const d28 = time(28);
  raw.compositeSlots = { ms7: d7, ms14: d14, ms28: d28 };
  add({
    id: 6,
    what: 'Composite slots, 3 segments x 10 staff, 5-minute grid (median of 15)',
    measured: `7 d ${fmt(d7, 2)} ms, 14 d ${fmt(d14, 2)} ms, 28 d ${fmt(d28, 2)} ms (28/14 = ${fmt(d28 / d14, 2)})`,
    baseline: `itself at 7 days: ${fmt(d7, 2)} ms`,
    ratio: d14 / d7,
    target: '14 d <= 10 ms; 28 d <= 2.2x 14 d',
    met: d14 <= 10 && d28 <= 2.2 * d14,
  });
}
