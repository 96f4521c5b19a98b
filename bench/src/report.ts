/**
 * The report of a run: the table printed, bench/results/latest.json and docs/benchmarks.md (a partial
 * run, BENCH_ONLY, writes bench/results/partial.json and partial.md instead).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { ONLY, SECONDS, say } from './setup.ts';

/** One line of the benchmarks table. */
export interface Row {
  id: number;
  what: string;
  measured: string;
  baseline: string;
  ratio: number | null;
  target: string;
  met: boolean;
}
export const rows: Row[] = [];
/** The raw figures, by benchmark, written to the results file. */
export const raw: Record<string, unknown> = {};
export const fmt = (n: number, digits = 1) => n.toFixed(digits);
/** Records a row of the table and prints it. */
export function add(row: Row) {
  rows.push(row);
  say(
    `#${row.id} ${row.what}: ${row.measured} vs ${row.baseline} -> ${row.ratio === null ? '-' : `${fmt(row.ratio, 2)}x`} (${row.target}) ${row.met ? 'MET' : 'MISSED'}`,
  );
}

/** Peak RSS of the services during benchmarks 1 and 3, for benchmark 7. */
export const memory: Record<string, number> = {};

/** Writes the results file and the benchmarks page; returns the table. */
export function writeReport(): string {
  rows.sort((a, b) => a.id - b.id);
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  const result = { at: new Date().toISOString(), machine, seconds: SECONDS, rows, raw };
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  // A partial run (BENCH_ONLY) never replaces the full run's results and docs.
  const resultFile = ONLY === undefined ? 'latest.json' : 'partial.json';
  writeFileSync(new URL(`../results/${resultFile}`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  const table = [
    '| # | What | Measured | Baseline (same run) | Ratio | Target | |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.id} | ${r.what} | ${r.measured} | ${r.baseline} | ${r.ratio === null ? '-' : `${fmt(r.ratio, 2)}x`} | ${r.target} | ${r.met ? 'met' : '**missed**'} |`,
    ),
  ].join('\n');
  // The hand-written analysis of missed targets (bench/ANALYSIS.md) follows the measured table.
  const analysisFile = new URL('../ANALYSIS.md', import.meta.url);
  const analysis = existsSync(analysisFile) ? `\n${readFileSync(analysisFile, 'utf8')}` : '';
  writeFileSync(
    new URL(ONLY === undefined ? '../../docs/benchmarks.md' : '../results/partial.md', import.meta.url),
    `# Benchmarks

Measured by \`pnpm bench\` on ${result.at.slice(0, 10)}: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGb} GB
memory, Node.js ${machine.node}, PostgreSQL and Redis on the same machine, the Cal.com sandbox in the benchmark
process, load from autocannon in a separate process on loopback. Every ratio is to a baseline measured in the same
run on the same machine (absolute numbers drift between runs and machines). Raw figures:
\`bench/results/latest.json\`.

${table}

Reproduce: \`pnpm bench\` (about 8 minutes, plus about 4 for writing benchmark 8's million appointments;
\`BENCH_SECONDS\` sets each load run, \`BENCH_BUDGET\` the limit of benchmark 4, \`BENCH_LOOKUP_ROWS\` the appointments
of benchmark 8). It uses the database \`calgate_bench\` (dropped and recreated) and its own Redis prefix.
${analysis}`,
  );
  return table;
}
