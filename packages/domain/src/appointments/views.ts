import { appointmentHistory, appointments, type Database, executePreparedText } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { formatInZone } from '@calgate/time';
import { and, asc, eq } from 'drizzle-orm';
import { columnsOf, mapRow, selectList } from './row-mapping.ts';

export type AppointmentRow = typeof appointments.$inferSelect;
export type HistoryRow = typeof appointmentHistory.$inferSelect;

export interface AppointmentView {
  id: string;
  status: AppointmentRow['status'];
  serviceId: string;
  staff: { id: string; name: string } | null;
  /** `email` is null for a customer who gave only a phone (E.164). */
  customer: { id: string; name: string; email: string | null; phone: string | null };
  start: string;
  end: string;
  timeZone: string;
  calcom: { bookingUid: string | null; bookingId: number | null };
  failure: { code: string; reason: string; alternatives: unknown[] } | null;
  needsAttention: boolean;
  notes: string | null;
  metadata: Record<string, unknown>;
  source: string;
  createdAt: string;
  updatedAt: string;
  history: Array<{
    event: string;
    from: string | null;
    to: string | null;
    actor: string;
    at: string;
    data: unknown;
  }>;
}

/**
 * One appointment of the company.
 * @throws AppError BOOKING_NOT_FOUND when it does not exist or belongs to another company.
 */
export async function loadAppointment(db: Database, companyId: string, id: string): Promise<AppointmentRow> {
  const [row] = await db
    .select()
    .from(appointments)
    .where(and(eq(appointments.id, id), eq(appointments.companyId, companyId)))
    .limit(1);
  if (row === undefined) {
    throw new AppError('BOOKING_NOT_FOUND', `No booking ${id.slice(0, 64)}`, { details: { field: 'id' } });
  }
  return row;
}

export async function loadHistory(db: Database, appointmentId: string): Promise<HistoryRow[]> {
  return db
    .select()
    .from(appointmentHistory)
    .where(eq(appointmentHistory.appointmentId, appointmentId))
    .orderBy(asc(appointmentHistory.createdAt), asc(appointmentHistory.id));
}

/**
 * The appointment as our API shows it: times in the appointment's zone, with its history. One
 * prepared statement (the row, its customer and staff member, its history as JSON): a request
 * waiting with `Prefer: wait` reads it after the worker's notice, with the caller on the line.
 * @throws AppError BOOKING_NOT_FOUND when it does not exist or belongs to another company.
 */
export async function getAppointmentView(
  db: Database,
  companyId: string,
  id: string,
): Promise<AppointmentView> {
  const [found] = await executePreparedText<Record<string, unknown>>(db.$client, VIEW_SELECT, [
    id,
    companyId,
  ]);
  if (found === undefined) {
    throw new AppError('BOOKING_NOT_FOUND', `No booking ${id.slice(0, 64)}`, { details: { field: 'id' } });
  }
  const row = mapRow(found, 'a', APPOINTMENT_COLUMNS) as AppointmentRow;
  const history = (found.history as ViewedHistory[]).map((h) => ({ ...h, createdAt: new Date(h.createdAt) }));
  return appointmentView(
    row,
    {
      id: row.customerId,
      name: (found['u.name'] as string | null) ?? '',
      email: (found['u.email'] as string | null) ?? null,
      phone: (found['u.phone'] as string | null) ?? null,
    },
    found['s.id'] === null ? null : { id: found['s.id'] as string, name: found['s.name'] as string },
    history,
  );
}

type ViewedHistory = Pick<HistoryRow, 'event' | 'fromStatus' | 'toStatus' | 'actor' | 'data'> & {
  createdAt: string;
};

const APPOINTMENT_COLUMNS = columnsOf(appointments);
// Instants as the API shows them (milliseconds, UTC), as drizzle's mapping reads them.
const VIEW_SELECT = `select ${selectList('a', APPOINTMENT_COLUMNS).join(', ')},
    u.name as "u.name", u.email as "u.email", u.phone as "u.phone", s.id as "s.id", s.name as "s.name",
    coalesce((
      select json_agg(json_build_object('event', h.event, 'fromStatus', h.from_status, 'toStatus', h.to_status,
          'actor', h.actor, 'data', h.data,
          'createdAt', to_char(h.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
        order by h.created_at, h.id)
      from appointment_history h where h.appointment_id = a.id), '[]'::json) as history
  from appointments a
  left join customers u on u.id = a.customer_id
  left join staff s on s.id = a.staff_id
  where a.id = $1 and a.company_id = $2`;

/** What the view is made of: the appointment's columns the API shows. */
export type ViewedAppointment = Pick<
  AppointmentRow,
  | 'id'
  | 'status'
  | 'serviceId'
  | 'startsAt'
  | 'endsAt'
  | 'timezone'
  | 'calcomBookingUid'
  | 'calcomBookingId'
  | 'failureCode'
  | 'failureReason'
  | 'needsAttention'
  | 'notes'
  | 'metadata'
  | 'source'
  | 'createdAt'
  | 'updatedAt'
>;

/** The API's shape of an appointment, from rows already at hand (a read, or what was just written). */
export function appointmentView(
  row: ViewedAppointment,
  customer: AppointmentView['customer'],
  member: AppointmentView['staff'],
  history: Array<Pick<HistoryRow, 'event' | 'fromStatus' | 'toStatus' | 'actor' | 'createdAt' | 'data'>>,
): AppointmentView {
  const lastFailure = [...history]
    .reverse()
    .find((h) => h.event === 'failed' || h.event === 'reschedule_failed');
  const failureData = (lastFailure?.data ?? {}) as { alternatives?: unknown[] };
  return {
    id: row.id,
    status: row.status,
    serviceId: row.serviceId,
    staff: member,
    customer,
    start: formatInZone(row.startsAt, row.timezone),
    end: formatInZone(row.endsAt, row.timezone),
    timeZone: row.timezone,
    calcom: { bookingUid: row.calcomBookingUid, bookingId: row.calcomBookingId },
    failure:
      row.failureCode === null
        ? null
        : {
            code: row.failureCode,
            reason: row.failureReason ?? '',
            alternatives: failureData.alternatives ?? [],
          },
    needsAttention: row.needsAttention,
    notes: row.notes,
    metadata: row.metadata as Record<string, unknown>,
    source: row.source,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    history: history.map((h) => ({
      event: h.event,
      from: h.fromStatus,
      to: h.toStatus,
      actor: h.actor,
      at: h.createdAt.toISOString(),
      data: h.data,
    })),
  };
}
