import { type AppointmentSource, type AppointmentStatus, executePrepared } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { parseInstant } from '@calgate/time';
import { type SQL, sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { normalizePhone, phoneFromQuery } from '../appointments/customers/phone.ts';
import { type AppointmentView, appointmentView } from '../appointments/views.ts';
import { decodeCursor, encodeCursor, filtersDigest } from './cursor.ts';

/** The largest page a caller may ask for. */
export const MAX_PAGE_SIZE = 100;
/** The page size without `limit`. */
export const DEFAULT_PAGE_SIZE = 20;
/**
 * The longest appointment a window lookup finds. Bounding how long before `from` an overlapping
 * appointment can start lets the lookup use the (company, starts_at) index as a range instead of
 * reading every earlier appointment; a salon's appointments are hours long, not days.
 */
export const MAX_APPOINTMENT_HOURS = 24;

export interface AppointmentFilters {
  customerEmail?: string | undefined;
  /** Any spelling of the number; normalised to E.164 (PHONE_DEFAULT_REGION) before matching. */
  customerPhone?: string | undefined;
  status?: AppointmentStatus[] | undefined;
  serviceId?: string | undefined;
  staffId?: string | undefined;
  /** Appointments that overlap [from, to): ISO 8601 date-times with an offset. */
  from?: string | undefined;
  to?: string | undefined;
  source?: AppointmentSource | undefined;
  /** @defaultValue DEFAULT_PAGE_SIZE, at most MAX_PAGE_SIZE */
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** An appointment in a list: the single view without its history (GET /bookings/:id has it). */
export type AppointmentSummary = Omit<AppointmentView, 'history' | 'failure'> & {
  failure: { code: string; reason: string } | null;
};

export interface AppointmentPage {
  appointments: AppointmentSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * One page of the company's appointments matching every given filter, in (start, id) order.
 * Keyset pagination: a page starts strictly after the previous page's last (start, id), so
 * appointments added or changed meanwhile never make a page repeat or skip one that was there.
 * @throws AppError VALIDATION_FAILED naming the field (limit, cursor, from, to, customerPhone).
 */
export async function findAppointments(
  client: postgres.Sql,
  companyId: string,
  filters: AppointmentFilters,
  phoneRegion: string | undefined,
): Promise<AppointmentPage> {
  const { query, limit, digest } = findAppointmentsQuery(companyId, filters, phoneRegion);
  const rows = await executePrepared<SummaryRow>(client, query);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    appointments: page.map(toSummary),
    nextCursor:
      rows.length > limit && last !== undefined
        ? encodeCursor({ startsAtMicros: last.starts_at_us, id: last.id }, digest)
        : null,
  };
}

/**
 * The statement `findAppointments` runs (one row more than the page, to know whether another
 * follows), for the query-plan test and the benchmark.
 * @throws AppError VALIDATION_FAILED as `findAppointments`.
 */
export function findAppointmentsQuery(
  companyId: string,
  filters: AppointmentFilters,
  phoneRegion: string | undefined,
): { query: SQL; limit: number; digest: string } {
  const limit = filters.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new AppError('VALIDATION_FAILED', `limit: must be a whole number from 1 to ${MAX_PAGE_SIZE}`, {
      details: { field: 'limit' },
    });
  }
  const from = filters.from === undefined ? undefined : parseInstant(filters.from, 'from');
  const to = filters.to === undefined ? undefined : parseInstant(filters.to, 'to');
  if (from !== undefined && to !== undefined && from.getTime() > to.getTime()) {
    throw new AppError('VALIDATION_FAILED', 'from: must not be after to', { details: { field: 'from' } });
  }
  const phone =
    filters.customerPhone === undefined
      ? undefined
      : normalizePhone(phoneFromQuery(filters.customerPhone), 'customerPhone', phoneRegion);
  const email = filters.customerEmail?.trim().toLowerCase();
  const statuses = filters.status === undefined ? undefined : [...new Set(filters.status)].sort();
  const digest = filtersDigest({
    email,
    phone,
    statuses,
    serviceId: filters.serviceId,
    staffId: filters.staffId,
    from: from?.toISOString(),
    to: to?.toISOString(),
    source: filters.source,
  });
  const after = filters.cursor === undefined ? undefined : decodeCursor(filters.cursor, digest);

  const where: SQL[] = [sql`a.company_id = ${companyId}`];
  if (email !== undefined) {
    where.push(
      sql`a.customer_id in (select id from customers where company_id = ${companyId} and lower(email) = ${email})`,
    );
  }
  if (phone !== undefined) {
    where.push(
      sql`a.customer_id in (select id from customers where company_id = ${companyId} and phone = ${phone})`,
    );
  }
  if (statuses !== undefined && statuses.length > 0) {
    where.push(
      sql`a.status in (${sql.join(
        statuses.map((s) => sql`${s}`),
        sql`, `,
      )})`,
    );
  }
  if (filters.serviceId !== undefined) where.push(sql`a.service_id = ${filters.serviceId}`);
  if (filters.staffId !== undefined) where.push(sql`a.staff_id = ${filters.staffId}`);
  if (filters.source !== undefined) where.push(sql`a.source = ${filters.source}`);
  if (to !== undefined) where.push(sql`a.starts_at < ${to.toISOString()}::timestamptz`);
  if (from !== undefined) {
    const earliest = new Date(from.getTime() - MAX_APPOINTMENT_HOURS * 3_600_000);
    where.push(sql`a.ends_at > ${from.toISOString()}::timestamptz`);
    where.push(sql`a.starts_at > ${earliest.toISOString()}::timestamptz`);
  }
  if (after !== undefined) {
    where.push(
      sql`(a.starts_at, a.id) > (timestamptz 'epoch' + ${after.startsAtMicros}::bigint * interval '1 microsecond', ${after.id})`,
    );
  }
  const query = sql`
    ${SELECT_SUMMARY}
    where ${sql.join(where, sql` and `)}
    order by a.starts_at, a.id
    limit ${limit + 1}`;
  return { query, limit, digest };
}

/** What a summary is read from: the appointment with its customer and staff member, in one query. */
export type SummaryRow = {
  id: string;
  status: AppointmentStatus;
  service_id: string;
  starts_at_us: string;
  starts_at: number;
  ends_at: number;
  timezone: string;
  calcom_booking_uid: string | null;
  calcom_booking_id: number | null;
  failure_code: string | null;
  failure_reason: string | null;
  needs_attention: boolean;
  notes: string | null;
  metadata: Record<string, unknown>;
  source: string;
  created_at: number;
  updated_at: number;
  customer_id: string;
  customer_name: string;
  customer_email: string | null;
  customer_phone: string | null;
  staff_id: string | null;
  staff_name: string | null;
};

// Instants as epoch milliseconds (what the API shows), the start also in exact microseconds (the cursor).
const ms = (column: string) => sql.raw(`floor(extract(epoch from ${column}) * 1000)::float8`);
export const SELECT_SUMMARY = sql`
  select a.id, a.status, a.service_id,
    (extract(epoch from a.starts_at) * 1000000)::bigint::text as starts_at_us,
    ${ms('a.starts_at')} as starts_at, ${ms('a.ends_at')} as ends_at, a.timezone,
    a.calcom_booking_uid, a.calcom_booking_id, a.failure_code, a.failure_reason, a.needs_attention,
    a.notes, a.metadata, a.source, ${ms('a.created_at')} as created_at, ${ms('a.updated_at')} as updated_at,
    c.id as customer_id, c.name as customer_name, c.email as customer_email, c.phone as customer_phone,
    s.id as staff_id, s.name as staff_name
  from appointments a
  join customers c on c.id = a.customer_id
  left join staff s on s.id = a.staff_id`;

export function toSummary(row: SummaryRow): AppointmentSummary {
  const {
    history: _history,
    failure,
    ...view
  } = appointmentView(
    {
      id: row.id,
      status: row.status,
      serviceId: row.service_id,
      startsAt: new Date(row.starts_at),
      endsAt: new Date(row.ends_at),
      timezone: row.timezone,
      calcomBookingUid: row.calcom_booking_uid,
      calcomBookingId: row.calcom_booking_id,
      failureCode: row.failure_code,
      failureReason: row.failure_reason,
      needsAttention: row.needs_attention,
      notes: row.notes,
      metadata: row.metadata,
      source: row.source as AppointmentSource,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    },
    { id: row.customer_id, name: row.customer_name, email: row.customer_email, phone: row.customer_phone },
    row.staff_id === null ? null : { id: row.staff_id, name: row.staff_name ?? '' },
    [],
  );
  return { ...view, failure: failure === null ? null : { code: failure.code, reason: failure.reason } };
}
