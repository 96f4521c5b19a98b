import { appointmentHistory, appointments, customers, type Database, staff } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { formatInZone } from '@calgate/time';
import { and, asc, eq } from 'drizzle-orm';

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

/** The appointment as our API shows it: times in the appointment's zone, with its history. */
export async function getAppointmentView(
  db: Database,
  companyId: string,
  id: string,
): Promise<AppointmentView> {
  const row = await loadAppointment(db, companyId, id);
  const [customerRows, staffRows, history] = await Promise.all([
    db.select().from(customers).where(eq(customers.id, row.customerId)).limit(1),
    row.staffId === null
      ? Promise.resolve([])
      : db.select().from(staff).where(eq(staff.id, row.staffId)).limit(1),
    loadHistory(db, row.id),
  ]);
  const customer = customerRows[0];
  const member = staffRows[0];
  return appointmentView(
    row,
    {
      id: row.customerId,
      name: customer?.name ?? '',
      email: customer?.email ?? null,
      phone: customer?.phone ?? null,
    },
    member === undefined ? null : { id: member.id, name: member.name },
    history,
  );
}

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
