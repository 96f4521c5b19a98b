import { appointmentHistory, appointments, type Database } from '@calgate/db';
import { QUEUE_NAMES, type QueueName } from '@calgate/jobs';
import { Queue } from 'bullmq';
import { and, desc, eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';

export interface CliContext {
  db: Database;
  connection: Redis;
  prefix: string;
  out: (line: string) => void;
  /** A structured result for `--json` (see `Output`). */
  record?: (value: Record<string, unknown>) => void;
}

function queuesNamed(context: CliContext, name: string | undefined): Queue[] {
  const names = name === undefined ? [...QUEUE_NAMES] : [name];
  for (const n of names) {
    if (!(QUEUE_NAMES as readonly string[]).includes(n))
      throw new Error(`--queue must be one of ${QUEUE_NAMES.join(', ')}`);
  }
  return names.map(
    (n) => new Queue(n as QueueName, { connection: context.connection, prefix: context.prefix }),
  );
}

/** Failed jobs with their reason, per queue. */
export async function listFailedJobs(context: CliContext, queueName?: string): Promise<number> {
  let count = 0;
  for (const queue of queuesNamed(context, queueName)) {
    for (const job of await queue.getFailed(0, 999)) {
      count++;
      context.record?.({
        queue: queue.name,
        id: job.id,
        name: job.name,
        attemptsMade: job.attemptsMade,
        failedReason: job.failedReason ?? null,
      });
      context.out(
        `${queue.name}\t${job.id}\t${job.name}\tattempts=${job.attemptsMade}\t${(job.failedReason ?? '').slice(0, 200)}`,
      );
    }
    await queue.close();
  }
  context.out(`${count} failed job(s)`);
  return count;
}

/** Retries failed jobs: one by id, or every failed job of the queue(s). */
export async function retryFailedJobs(
  context: CliContext,
  options: { queue?: string; job?: string },
): Promise<number> {
  let retried = 0;
  for (const queue of queuesNamed(context, options.queue)) {
    const jobs =
      options.job === undefined
        ? await queue.getFailed(0, 9_999)
        : [await queue.getJob(options.job)].filter((j) => j !== undefined);
    for (const job of jobs) {
      if ((await job.getState()) !== 'failed') continue;
      await job.retry('failed');
      retried++;
      context.record?.({ queue: queue.name, id: job.id, name: job.name, retried: true });
      context.out(`retried ${queue.name}/${job.id} (${job.name})`);
    }
    await queue.close();
  }
  context.out(`${retried} job(s) retried`);
  return retried;
}

/** Appointments flagged for an operator (an exhausted compensation, an outcome that is unknown). */
export async function listNeedsAttention(context: CliContext, companyId?: string): Promise<number> {
  const rows = await context.db
    .select()
    .from(appointments)
    .where(
      and(
        eq(appointments.needsAttention, true),
        companyId === undefined ? undefined : eq(appointments.companyId, companyId),
      ),
    )
    .orderBy(desc(appointments.updatedAt))
    .limit(500);
  // The company (whose Cal.com account to look in) and the booking's uid there, when it has one.
  for (const row of rows) {
    context.record?.({
      id: row.id,
      companyId: row.companyId,
      status: row.status,
      startsAt: row.startsAt.toISOString(),
      calcomBookingUid: row.calcomBookingUid,
      failureCode: row.failureCode,
      failureReason: row.failureReason,
    });
    context.out(
      `${row.id}\t${row.companyId}\t${row.status}\t${row.startsAt.toISOString()}\t${row.calcomBookingUid ?? '-'}\t${row.failureCode ?? ''}\t${row.failureReason ?? ''}`,
    );
  }
  context.out(`${rows.length} appointment(s) need attention`);
  return rows.length;
}

/**
 * An operator has looked at a flagged appointment (in Cal.com, with the customer) and settled it:
 * the flag goes, and the history records who cleared it and why. Refused for one not flagged.
 */
export async function resolveNeedsAttention(
  context: CliContext,
  appointmentId: string,
  note: string,
): Promise<void> {
  const text = note.trim();
  if (text === '') throw new Error('--note must say what was checked or done');
  const resolved = await context.db.transaction(async (tx) => {
    const [row] = await tx
      .update(appointments)
      .set({ needsAttention: false, updatedAt: new Date() })
      .where(and(eq(appointments.id, appointmentId), eq(appointments.needsAttention, true)))
      .returning({ id: appointments.id, status: appointments.status });
    if (row === undefined) return undefined;
    await tx.insert(appointmentHistory).values({
      appointmentId: row.id,
      event: 'attention_resolved',
      fromStatus: row.status,
      toStatus: row.status,
      actor: 'operator',
      data: { note: text.slice(0, 500) },
    });
    return row;
  });
  if (resolved === undefined)
    throw new Error(`appointment ${appointmentId.slice(0, 64)} is not flagged as needing attention`);
  context.record?.({ id: resolved.id, status: resolved.status, resolved: true });
  context.out(`${resolved.id}: attention resolved (${resolved.status})`);
}
