import type { JobContext } from '@calgate/jobs';
import { describe, expect, it } from 'vitest';
import { unmarkUnsent } from '../src/bookings/send-marker.ts';

/** A job context whose job keeps its data in memory, as BullMQ's `updateData` does. */
function contextWith(data: Record<string, unknown>): JobContext {
  const job = {
    data,
    async updateData(next: Record<string, unknown>) {
      job.data = next;
    },
  };
  return { job } as unknown as JobContext;
}

describe('the at-most-once marker of a send the budget turned away', () => {
  it('is taken back when this run set it', async () => {
    const context = contextWith({ appointmentId: 'apt_1', sent: true });
    await unmarkUnsent(context, false);
    expect(context.job.data).toEqual({ appointmentId: 'apt_1', sent: false });
  });

  it('stays when an earlier run set it (that send may have landed)', async () => {
    const context = contextWith({ appointmentId: 'apt_1', sent: true });
    await unmarkUnsent(context, true);
    expect(context.job.data.sent).toBe(true);
  });
});
