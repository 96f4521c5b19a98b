import type postgres from 'postgres';

export interface BulkAppointmentsOptions {
  companyId: string;
  serviceIds: string[];
  staffIds: string[];
  appointments: number;
  customers: number;
  /** Appointments start on a 15-minute grid from here, over `spanDays`. */
  from: Date;
  spanDays: number;
  /** Makes ids, emails and phones unique per call. */
  tag: string;
  /**
   * Drop the appointments' secondary indexes for the load and build them again from their own
   * definitions afterwards: a million rows load several times faster. Only for a database nothing
   * else uses meanwhile (the benchmark's).
   */
  rebuildIndexes?: boolean;
}

/**
 * Many appointments of one company written in two statements (for query-plan tests and the lookup
 * benchmark): `customers` customers, each with an email `c<n>.<tag>@example.org` and a mobile phone
 * `bulkPhone(tag index, n)`, and `appointments` appointments spread over the span, statuses and
 * sources mixed, then ANALYZE so the planner knows the table's size.
 */
export async function insertBulkAppointments(
  sql: postgres.Sql,
  options: BulkAppointmentsOptions,
): Promise<void> {
  const { companyId, tag } = options;
  const slots = Math.max(1, Math.floor((options.spanDays * 24 * 60) / 15));
  await sql`
    insert into customers (id, company_id, name, email, phone)
    select 'cus_bulk_' || ${tag} || '_' || g, ${companyId}, 'Customer ' || g,
      'c' || g || '.' || ${tag} || '@example.org', ${bulkPhonePrefix(tag)} || lpad(g::text, 6, '0')
    from generate_series(1, ${options.customers}::int) g`;
  const indexes =
    options.rebuildIndexes === true
      ? await sql<Array<{ name: string; definition: string }>>`
          select i.indexname as name, i.indexdef as definition from pg_indexes i
          where i.schemaname = current_schema() and i.tablename = 'appointments'
            and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`
      : [];
  for (const index of indexes) await sql`drop index ${sql(index.name)}`;
  // Multiplying by a prime scatters consecutive rows over the span (rows are not inserted in time order).
  await sql`
    insert into appointments (id, company_id, service_id, customer_id, staff_id, status, starts_at, ends_at,
      timezone, source)
    select 'apt_bulk_' || ${tag} || '_' || lpad(g::text, 8, '0'), ${companyId},
      (${options.serviceIds}::text[])[1 + g % ${options.serviceIds.length}::int],
      'cus_bulk_' || ${tag} || '_' || (1 + g % ${options.customers}::int),
      (${options.staffIds}::text[])[1 + g % ${options.staffIds.length}::int],
      (array['confirmed', 'confirmed', 'confirmed', 'cancelled', 'pending', 'completed'])[1 + g % 6],
      t.start, t.start + interval '30 minutes', 'Europe/Berlin',
      case when g % 10 = 0 then 'calcom' else 'api' end
    from generate_series(1, ${options.appointments}::int) g,
      lateral (select ${options.from.toISOString()}::timestamptz
        + ((g::bigint * 7919) % ${slots}::int) * interval '15 minutes' as start) t`;
  for (const index of indexes) await sql.unsafe(index.definition);
  await sql`analyze customers`;
  await sql`analyze appointments`;
}

/** German mobile numbers 0151 1<tag digits><6 digits>: valid, and distinct per tag. */
function bulkPhonePrefix(tag: string): string {
  let digit = 0;
  for (const char of tag) digit = (digit * 31 + char.charCodeAt(0)) % 10;
  return `+491511${digit}`;
}

/** The E.164 phone of bulk customer `n` (1-based) of `tag`. */
export function bulkPhone(tag: string, n: number): string {
  return `${bulkPhonePrefix(tag)}${String(n).padStart(6, '0')}`;
}
