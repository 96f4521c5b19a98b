/**
 * CPU time spent by the processes of one measurement (Linux: /proc), so a benchmark can say where
 * a booking's time goes in milliseconds of CPU per process rather than in a profile's samples
 * (which, on a machine this busy, also count the time a process waited for a core).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Milliseconds of CPU (user + system) by process group, counted from `begin()` to `end()`. */
export interface CpuSpan {
  end(): Record<string, number>;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function ticksOf(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

function commandOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The machine's shared services, by command line. */
const SHARED: Array<[string, RegExp]> = [
  ['postgres', /^postgres[: ]|\/bin\/postgres /],
  ['redis', /redis-server/],
];

/**
 * Starts counting. `named` are the processes of this measurement (by pid); PostgreSQL's backends and
 * Redis are found by command line, including backends that start (and exit) during the span: each
 * is sampled every 100 ms, so a backend that exits loses at most its last 100 ms.
 */
export function beginCpu(named: Record<string, number | undefined>): CpuSpan {
  const first = new Map<string, number>();
  const last = new Map<string, { ticks: number; group: string }>();
  // Processes of no group, remembered so that each sample reads only the stat of those counted.
  const ignored = new Set<string>();
  const groupOf = (pid: string): string | undefined => {
    for (const [group, p] of Object.entries(named)) if (p !== undefined && String(p) === pid) return group;
    const command = commandOf(pid);
    return SHARED.find(([, pattern]) => pattern.test(command))?.[0];
  };
  const sample = (initial: boolean) => {
    let pids: string[];
    try {
      pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    } catch {
      return;
    }
    for (const pid of pids) {
      if (ignored.has(pid)) continue;
      const group = last.get(pid)?.group ?? groupOf(pid);
      if (group === undefined) {
        ignored.add(pid);
        continue;
      }
      const ticks = ticksOf(pid);
      if (ticks === undefined) continue;
      if (initial) first.set(pid, ticks);
      last.set(pid, { ticks, group });
    }
  };
  const self = process.cpuUsage();
  sample(true);
  const timer = setInterval(() => sample(false), 100);
  timer.unref();
  return {
    end() {
      sample(false);
      clearInterval(timer);
      const out: Record<string, number> = {};
      for (const [pid, { ticks, group }] of last) {
        out[group] = (out[group] ?? 0) + (ticks - (first.get(pid) ?? 0)) * TICK_MS;
      }
      const used = process.cpuUsage(self);
      out['bench (load, sandbox)'] = Math.round((used.user + used.system) / 1000);
      return out;
    },
  };
}

/** "api 2.1, worker 3.4, ..." ms per item, largest first. */
export function perItem(cpu: Record<string, number>, items: number): string {
  return Object.entries(cpu)
    .sort((a, b) => b[1] - a[1])
    .map(([group, ms]) => `${group} ${(ms / items).toFixed(2)}`)
    .join(', ');
}

/** All the CPU of a span, in ms. */
export const totalCpu = (cpu: Record<string, number>): number =>
  Object.values(cpu).reduce((sum, ms) => sum + ms, 0);
