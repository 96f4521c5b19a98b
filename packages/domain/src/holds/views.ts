import { type Database, holdSegments, holds } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { formatInZone } from '@calgate/time';
import { and, asc, eq } from 'drizzle-orm';

export type HoldRow = typeof holds.$inferSelect;
export type HoldSegmentRow = typeof holdSegments.$inferSelect;

export interface HoldView {
  id: string;
  /** `expired` as soon as `expiresAt` has passed, even before the release job ran. */
  status: 'active' | 'consumed' | 'released' | 'expired';
  serviceId: string;
  start: string;
  end: string;
  timeZone: string;
  expiresAt: string;
  appointmentId: string | null;
  segments: Array<{
    position: number;
    staffId: string;
    start: string;
    end: string;
    /** Cal.com's reservation uid; null once it was deleted in Cal.com. */
    reservationUid: string | null;
  }>;
  createdAt: string;
}

/** The hold and its segments, of this company only. @throws AppError HOLD_NOT_FOUND */
export async function loadHold(
  db: Pick<Database, 'select'>,
  companyId: string,
  holdId: string,
): Promise<{ hold: HoldRow; segments: HoldSegmentRow[] }> {
  const [hold] = await db
    .select()
    .from(holds)
    .where(and(eq(holds.id, holdId), eq(holds.companyId, companyId)));
  if (hold === undefined) throw holdNotFound(holdId);
  const segments = await db
    .select()
    .from(holdSegments)
    .where(eq(holdSegments.holdId, hold.id))
    .orderBy(asc(holdSegments.position));
  return { hold, segments };
}

export function holdNotFound(holdId: string, field = 'id'): AppError {
  return new AppError('HOLD_NOT_FOUND', `${field}: hold ${holdId.slice(0, 64)} not found`, {
    details: { field },
  });
}

/** The status a caller sees: an active hold past its time is expired, whether or not the job ran. */
export function effectiveStatus(hold: Pick<HoldRow, 'status' | 'expiresAt'>, now = Date.now()) {
  return hold.status === 'active' && hold.expiresAt.getTime() <= now ? 'expired' : hold.status;
}

export function holdView(hold: HoldRow, segments: HoldSegmentRow[]): HoldView {
  const zoned = (at: Date) => formatInZone(at, hold.timezone);
  return {
    id: hold.id,
    status: effectiveStatus(hold),
    serviceId: hold.serviceId,
    start: zoned(hold.startsAt),
    end: zoned(hold.endsAt),
    timeZone: hold.timezone,
    expiresAt: hold.expiresAt.toISOString(),
    appointmentId: hold.appointmentId,
    segments: segments.map((s) => ({
      position: s.position,
      staffId: s.staffId,
      start: zoned(s.startsAt),
      end: zoned(s.endsAt),
      reservationUid: s.reservationReleasedAt === null ? s.reservationUid : null,
    })),
    createdAt: hold.createdAt.toISOString(),
  };
}

/** GET /api/v2/holds/:id */
export async function getHoldView(db: Database, companyId: string, holdId: string): Promise<HoldView> {
  const { hold, segments } = await loadHold(db, companyId, holdId);
  return holdView(hold, segments);
}
