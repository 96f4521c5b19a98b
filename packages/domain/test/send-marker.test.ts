import type { JobContext } from '@calgate/jobs';
import { describe, expect, it } from 'vitest';
import { segmentMarkers, unmarkUnsent } from '../src/bookings/send-marker.ts';

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

describe("a composite segment job's markers", () => {
  it('keeps its own segment in `sent` and the segments it books after it by position', async () => {
    const context = contextWith({ appointmentId: 'apt_1', position: 2 });
    const markers = segmentMarkers(context, 2);
    await markers.set(2);
    await markers.set(1);
    expect(context.job.data).toMatchObject({ sent: true, sentSegments: [1] });
    expect([2, 1, 0].map((p) => markers.isSet(p))).toEqual([true, true, false]);
  });

  it('takes back one segment marker and leaves the others', async () => {
    const context = contextWith({ appointmentId: 'apt_1', position: 2, sent: true, sentSegments: [1, 0] });
    const markers = segmentMarkers(context, 2);
    await markers.unset(0);
    expect(context.job.data).toMatchObject({ sent: true, sentSegments: [1] });
  });
});
