/**
 * `pnpm bench`: every benchmark of the benchmark issues against real PostgreSQL, Redis and the
 * sandbox, each figure a ratio to a baseline measured in this same run on this same machine.
 * Prints a table and writes bench/results/latest.json and docs/benchmarks.md.
 * BENCH_SECONDS (default 10) sets the length of each load run; BENCH_BUDGET (default 600) the
 * per-minute limit of the budget benchmark; BENCH_LOOKUP_ROWS (default 1,000,000) the appointments
 * of the company the lookup benchmark searches; BENCH_LATENCY_MS (default 150) the sandbox's
 * latency per Cal.com call in the latency benchmark. BENCH_ONLY=1,2 runs a subset.
 *
 * Setup happens when `./setup.ts` is imported; each benchmark is one file in `./scenarios/`.
 */
import { add, memory, raw, writeReport } from './report.ts';
import { availabilityWarm } from './scenarios/availability-warm.ts';
import { bookingsEndToEnd } from './scenarios/bookings.ts';
import { budgetUnderBacklog } from './scenarios/budget.ts';
import { callsPerOperation } from './scenarios/calls-per-operation.ts';
import { compositeSlots } from './scenarios/composite-slots.ts';
import { latency } from './scenarios/latency.ts';
import { appointmentLookup } from './scenarios/lookup.ts';
import { outboundWebhooks } from './scenarios/outbound-webhooks.ts';
import { webhookIntake } from './scenarios/webhook-intake.ts';
import { database, only, removeRunKeys, sandbox, stopAll } from './setup.ts';

/** Benchmark 7 reads the peaks that 1 and 3 recorded. */
function peakMemory(): void {
  const apiPeak = Math.max(memory.apiDuringWebhooks ?? 0, memory.apiDuringBookings ?? 0);
  const workerPeak = memory.workerDuringBookings ?? 0;
  raw.memory = memory;
  add({
    id: 7,
    what: 'Peak RSS of api and worker during 1 and 3',
    measured: `api ${apiPeak} MB, worker ${workerPeak} MB`,
    baseline: '-',
    ratio: null,
    target: 'each <= 200 MB',
    met: apiPeak <= 200 && workerPeak <= 200,
  });
}

try {
  // The order of the original single-file runner: 7 needs 1 and 3, 4 leaves the sandbox as it found it.
  if (only(1)) await webhookIntake();
  if (only(2)) await availabilityWarm();
  if (only(3)) await bookingsEndToEnd();
  if (only(9)) await outboundWebhooks();
  if (only(1) && only(3)) peakMemory();
  if (only(4)) await budgetUnderBacklog();
  if (only(5)) await callsPerOperation();
  if (only(6)) await compositeSlots();
  // 10 before 8: benchmark 8 writes a million rows, and PostgreSQL is busy with them (autovacuum,
  // analyze) for minutes afterwards, which a latency benchmark would measure instead of the gateway.
  if (only(10)) await latency();
  if (only(8)) await appointmentLookup();
} finally {
  await stopAll();
  await sandbox.close();
  await database.close();
  await removeRunKeys();
}

process.stdout.write(`\n${writeReport()}\n`);
process.exit(0);
