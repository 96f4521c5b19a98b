import type { JobContext } from '@calgate/jobs';

/**
 * Takes back the at-most-once marker (`sent` in the job's data) that this run set when the run sent
 * nothing because the budget turned its send away (the job is put back without spending an attempt).
 * Left behind, the marker makes every later run look in Cal.com first: under a busy key a job put
 * back again and again spent a lookup on each return and seldom got to its send (in the fault storm
 * every pending job was marked with no attempt spent, and the backlog hardly moved). A failed write
 * leaves the marker: one lookup too many, never a second booking.
 */
export async function unmarkUnsent(context: JobContext, markedBefore: boolean): Promise<void> {
  if (markedBefore || context.job.data.sent !== true) return;
  await context.job.updateData({ ...context.job.data, sent: false }).catch(() => undefined);
}
