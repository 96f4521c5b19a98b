import { executePreparedOn, outboundDeliveries, outboundEndpoints } from '@calgate/db';
import { and, asc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';
import { TURN_WAIT_MS } from './deliver-job.ts';

type RelayDeps = Pick<DomainDeps, 'db' | 'queues' | 'logger'>;

const BATCH = 500;
/** Batches per run at most, so that one run never holds the relay for long. */
const MAX_BATCHES = 40;

export interface RelayResult {
  events: number;
  deliveries: number;
  /** Another run was relaying, so this one stopped (the events are that run's or the next's). */
  busy: boolean;
}

/**
 * Held by the run that relays, for one batch. Two runs at once (the scheduler adds the next run
 * when one starts, and the worker runs jobs concurrently) would each pick a part of the outbox:
 * an appointment's later event, picked past the earlier one a slower run holds, would then find
 * no earlier delivery yet and go out first.
 */
const RELAY_LOCK = sql`hashtextextended('calgate:outbound-relay', 0)`;

/**
 * `outbound.relay` (scheduled every OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS): turns new outbox rows
 * into one delivery per subscribed endpoint and marks them relayed, in one statement, then
 * enqueues the deliveries. One run relays at a time; a run that finds another relaying stops. A
 * crash after the statement leaves pending deliveries without a job, which
 * {@link sweepOutboundDeliveries} enqueues; a crash before it leaves the outbox rows for the
 * next run. Either way no change is lost.
 */
export async function processRelay(deps: RelayDeps): Promise<RelayResult> {
  const total: RelayResult = { events: 0, deliveries: 0, busy: false };
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const row = await relayBatch(deps);
    if (row === 'busy') {
      total.busy = true;
      break;
    }
    if (row === undefined || row.picked === 0) break;
    total.events += row.picked;
    total.deliveries += row.made.length;
    // A later event of an appointment waits, delayed, for the earlier one's job to wake it (the
    // delay is only the fallback), instead of starting only to find it must wait.
    await Promise.all(
      row.made.map((d) =>
        deps.queues.enqueue(
          'outbound.deliver',
          { deliveryId: d.id, round: d.round },
          d.head ? undefined : { delay: TURN_WAIT_MS },
        ),
      ),
    );
    if (row.picked < BATCH) break;
  }
  return total;
}

interface RelayedBatch extends Record<string, unknown> {
  picked: number;
  made: Array<{ id: string; round: number; head: boolean }>;
}

/**
 * One batch under {@link RELAY_LOCK}, or `busy` when another run holds it: waiting would only
 * pile runs up behind a slow one, and the next scheduled run relays whatever is left. The lock is
 * taken before the picking statement, so that its snapshot sees every delivery the previous
 * holder made (an appointment's later event must find its earlier delivery pending).
 */
async function relayBatch(deps: RelayDeps): Promise<RelayedBatch | 'busy' | undefined> {
  return deps.db.transaction(async (tx) => {
    const [lock] = await tx.execute<{ taken: boolean }>(
      sql`select pg_try_advisory_xact_lock(${RELAY_LOCK}) as taken`,
    );
    if (lock?.taken !== true) return 'busy';
    const [row] = await executePreparedOn<RelayedBatch>(
      tx,
      sql`
      with picked as (
        select id, seq, company_id, appointment_id, type from outbound_events
        where relayed_at is null
        order by seq
        limit ${BATCH}
        for update skip locked
      ), marked as (
        update outbound_events set relayed_at = now() from picked where outbound_events.id = picked.id
      ), made as (
        insert into outbound_deliveries (id, event_id, endpoint_id, appointment_id, event_seq)
        select 'dlv_' || replace(gen_random_uuid()::text, '-', ''), p.id, e.id, p.appointment_id, p.seq
        from picked p
        join outbound_endpoints e
          on e.company_id = p.company_id and (e.event_types = '{}' or p.type = any(e.event_types))
        on conflict (event_id, endpoint_id) do nothing
        returning id, round, endpoint_id, appointment_id, event_seq
      ), ranked as (
        select made.*, row_number() over (
          partition by made.endpoint_id, made.appointment_id order by made.event_seq) as position
        from made join outbound_endpoints e on e.id = made.endpoint_id
        where e.disabled_at is null
      )
      select
        (select count(*) from picked)::int as picked,
        coalesce(
          (select json_agg(json_build_object(
             'id', id, 'round', round,
             'head', position = 1 and not exists (
               select 1 from outbound_deliveries earlier
               where earlier.endpoint_id = ranked.endpoint_id and earlier.appointment_id = ranked.appointment_id
                 and earlier.status = 'pending' and earlier.event_seq < ranked.event_seq))
           order by event_seq)
           from ranked),
          '[]'::json
        ) as made`,
    );
    return row;
  });
}

/** Pending deliveries younger than this most likely have their job already. */
const SWEEP_GRACE_MS = 30_000;

/**
 * Makes sure every pending delivery of an enabled endpoint has a live job (a relay that died
 * between its statement and its enqueues, a flushed Redis). Checks the longest-untouched first
 * and touches what it checked, so that a big backlog is covered over several sweeps.
 */
export async function sweepOutboundDeliveries(deps: RelayDeps): Promise<number> {
  const rows = await deps.db
    .select({ id: outboundDeliveries.id, round: outboundDeliveries.round })
    .from(outboundDeliveries)
    .innerJoin(outboundEndpoints, eq(outboundEndpoints.id, outboundDeliveries.endpointId))
    .where(
      and(
        eq(outboundDeliveries.status, 'pending'),
        lt(outboundDeliveries.updatedAt, new Date(Date.now() - SWEEP_GRACE_MS)),
        isNull(outboundEndpoints.disabledAt),
      ),
    )
    .orderBy(asc(outboundDeliveries.updatedAt))
    .limit(BATCH);
  let enqueued = 0;
  for (const row of rows) {
    const done = await deps.queues.ensure('outbound.deliver', { deliveryId: row.id, round: row.round });
    if (done !== 'present') enqueued++;
  }
  if (rows.length > 0) {
    await deps.db
      .update(outboundDeliveries)
      .set({ updatedAt: new Date() })
      .where(
        and(
          inArray(
            outboundDeliveries.id,
            rows.map((r) => r.id),
          ),
          eq(outboundDeliveries.status, 'pending'),
        ),
      );
  }
  if (enqueued > 0) deps.logger.info({ enqueued }, 'sweeper re-enqueued outbound deliveries');
  return enqueued;
}
