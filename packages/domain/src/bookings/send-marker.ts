import { appointments, type Database } from '@calgate/db';
import { isAppError } from '@calgate/errors';
import type { JobContext } from '@calgate/jobs';
import { eq } from 'drizzle-orm';

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

/**
 * Whether a send's error proves that Cal.com never acted on it, so that the marker this run set for
 * it can go: turned away by our budget before it left, or by Cal.com's throttler (a 429 is answered
 * before the request is handled). Kept, the marker made every later run look in Cal.com before
 * sending: jobs that a 429 paused together came back together, and their lookups used up the fresh
 * window before their sends, again and again.
 */
export function refusedUnsent(error: unknown): boolean {
  return isAppError(error) && error.code === 'RATE_LIMIT_EXCEEDED';
}

/**
 * The same for a simple booking, whose marker is the appointment's `booking_sent_at` (recorded with
 * its hold check, `assertNotHeldForBooking` / `loadWorkForSend`): cleared when this run set it and
 * sent nothing. A failed write leaves it, as above.
 */
export async function unmarkBookingSent(db: Database, appointmentId: string): Promise<void> {
  await db
    .update(appointments)
    .set({ bookingSentAt: null })
    .where(eq(appointments.id, appointmentId))
    .catch(() => undefined);
}

export interface SegmentMarkers {
  isSet(position: number): boolean;
  set(position: number): Promise<void>;
  /** Takes back a marker this run set for a send it never made (a failed write leaves it). */
  unset(position: number): Promise<void>;
}

/** Where a segment job keeps the markers of the segments it books after its own: their positions. */
const OTHER_SEGMENTS = 'sentSegments';

/**
 * The at-most-once markers of a composite's segment job, one per segment it may send: its own in
 * `sent` (as every booking job), and those of the segments below it, which it books one after
 * another when its own is done (`processBookSegment`), in `sentSegments`. A marker is written and
 * confirmed before its segment's create is sent; a later run of the job that finds one set looks in
 * Cal.com before it sends again.
 */
export function segmentMarkers(context: JobContext, ownPosition: number): SegmentMarkers {
  const others = (): number[] => {
    const value: unknown = context.job.data[OTHER_SEGMENTS];
    return Array.isArray(value) ? value.filter((p): p is number => typeof p === 'number') : [];
  };
  return {
    isSet(position: number): boolean {
      return position === ownPosition ? context.job.data.sent === true : others().includes(position);
    },
    async set(position: number): Promise<void> {
      if (this.isSet(position)) return;
      await context.job.updateData(
        position === ownPosition
          ? { ...context.job.data, sent: true }
          : { ...context.job.data, [OTHER_SEGMENTS]: [...others(), position] },
      );
    },
    async unset(position: number): Promise<void> {
      if (!this.isSet(position)) return;
      const data =
        position === ownPosition
          ? { ...context.job.data, sent: false }
          : { ...context.job.data, [OTHER_SEGMENTS]: others().filter((p) => p !== position) };
      await context.job.updateData(data).catch(() => undefined);
    },
  };
}
