import { sql } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';

export interface RetentionPolicy {
  /** Days a finished webhook delivery (processed or ignored) is kept; 0 keeps them forever. */
  webhookInboxDays: number;
  /** Days the history of an appointment is kept after the appointment ended; 0 keeps it forever. */
  appointmentHistoryDays: number;
  /** Days a hold is kept after it ended (expired, released, or used by a settled booking); 0: forever. */
  holdDays: number;
  /** Days an outbound event is kept once every endpoint has it (with its deliveries and attempts); 0: forever. */
  outboundDays: number;
}

export interface RetentionResult {
  webhookInbox: number;
  appointmentHistory: number;
  holds: number;
  outboundEvents: number;
}

/** Rows deleted per statement: a purge never holds long locks or one huge transaction. */
const BATCH = 5_000;

/**
 * Deletes what the retention policy no longer keeps, in batches, measured on the database's clock.
 * Only finished work goes: deliveries still waiting or failed (an operator may retry them) stay, and
 * an appointment's history goes only once the appointment has ended and is settled (confirmed,
 * cancelled or failed, nothing in flight, nothing flagged for an operator), because the history
 * of a live appointment is read by its next change.
 */
export async function purgeExpired(
  deps: Pick<DomainDeps, 'db' | 'logger'>,
  policy: RetentionPolicy,
): Promise<RetentionResult> {
  const result: RetentionResult = { webhookInbox: 0, appointmentHistory: 0, holds: 0, outboundEvents: 0 };
  if (policy.webhookInboxDays > 0) {
    result.webhookInbox = await inBatches(() =>
      deps.db.execute(sql`
        delete from webhook_inbox where id in (
          select id from webhook_inbox
          where status in ('processed', 'ignored')
            and received_at < now() - make_interval(days => ${policy.webhookInboxDays})
          limit ${BATCH})`),
    );
  }
  if (policy.appointmentHistoryDays > 0) {
    result.appointmentHistory = await inBatches(() =>
      deps.db.execute(sql`
        delete from appointment_history where id in (
          select h.id from appointment_history h
          join appointments a on a.id = h.appointment_id
          where a.ends_at < now() - make_interval(days => ${policy.appointmentHistoryDays})
            and a.status in ('confirmed', 'cancelled', 'failed')
            and not a.needs_attention
          limit ${BATCH})`),
    );
  }
  if (policy.holdDays > 0) {
    // A consumed hold guards its slot while its booking is pending: never one of those.
    result.holds = await inBatches(() =>
      deps.db.execute(sql`
        delete from holds where id in (
          select h.id from holds h left join appointments a on a.id = h.appointment_id
          where h.status <> 'active'
            and h.expires_at < now() - make_interval(days => ${policy.holdDays})
            and (h.status <> 'consumed' or a.status is distinct from 'pending')
          limit ${BATCH})`),
    );
  }
  if (policy.outboundDays > 0) {
    // Oldest first along the outbox's order; an event with a delivery still pending or failed
    // (an operator may resend it) stays.
    result.outboundEvents = await inBatches(() =>
      deps.db.execute(sql`
        delete from outbound_events where id in (
          select e.id from outbound_events e
          where e.relayed_at is not null
            and e.created_at < now() - make_interval(days => ${policy.outboundDays})
            and not exists (
              select 1 from outbound_deliveries d where d.event_id = e.id and d.status <> 'delivered')
          order by e.seq
          limit ${BATCH})`),
    );
  }
  if (result.webhookInbox + result.appointmentHistory + result.holds + result.outboundEvents > 0) {
    deps.logger.info({ ...result }, 'retention: expired rows deleted');
  }
  return result;
}

async function inBatches(statement: () => Promise<{ count?: number } | unknown>): Promise<number> {
  let total = 0;
  for (;;) {
    const outcome = (await statement()) as { count?: number };
    const deleted = outcome.count ?? 0;
    total += deleted;
    if (deleted < BATCH) return total;
  }
}
