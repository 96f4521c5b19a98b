import { appointmentHistory, type Database, type HistoryEvent } from '@calgate/db';
import { and, desc, eq } from 'drizzle-orm';

/**
 * What the events the code reads back record in `data`. State is kept on the appointment row
 * (see state.ts); these are read only to answer for one request or to reuse a reason given.
 */
export interface HistoryData {
  reschedule_requested: {
    requestId: string;
    start: string;
    timeZone: string;
    reason?: string;
    /** Composite appointments: the generation of segments planned for the request. */
    generation?: number;
  };
  rescheduled: { requestId?: string; generation?: number };
  reschedule_failed: { requestId?: string; generation?: number; code?: string; message?: string };
  cancel_requested: { reason?: string };
  /** `staffId`: the staff member the caller named (null: any), when the intake recorded it. */
  created: { start: string; staffId?: string | null };
}

type ReadEvent = keyof HistoryData & HistoryEvent;

/** A history row's data as its event records it, when the row is that event. */
export function historyData<E extends ReadEvent>(
  row: { event: string; data: Record<string, unknown> },
  event: E,
): HistoryData[E] | undefined {
  // The one place the JSON column meets its shape: every writer of these events goes through
  // the typed intake and job code.
  return row.event === event ? (row.data as HistoryData[E]) : undefined;
}

/** The data of the latest row of `event` for an appointment. */
export async function latestHistoryData<E extends ReadEvent>(
  db: Pick<Database, 'select'>,
  appointmentId: string,
  event: E,
): Promise<HistoryData[E] | undefined> {
  const [row] = await db
    .select({ event: appointmentHistory.event, data: appointmentHistory.data })
    .from(appointmentHistory)
    .where(and(eq(appointmentHistory.appointmentId, appointmentId), eq(appointmentHistory.event, event)))
    .orderBy(desc(appointmentHistory.createdAt), desc(appointmentHistory.id))
    .limit(1);
  return row === undefined ? undefined : historyData(row, event);
}

/** The reason the latest cancel request gave; Cal.com requires one with the host's key. */
export async function cancelRequestReason(
  db: Pick<Database, 'select'>,
  appointmentId: string,
): Promise<string> {
  const reason = (await latestHistoryData(db, appointmentId, 'cancel_requested'))?.reason;
  return typeof reason === 'string' && reason !== '' ? reason : 'Cancelled via booking gateway';
}
