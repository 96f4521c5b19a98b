import { executePreparedOn, outboundDeliveries, outboundEndpoints } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { DelayedError, type JobContext, jobCatalog } from '@calgate/jobs';
import { and, asc, eq, gt, lt, sql } from 'drizzle-orm';
import { endpointSecret, type OutboundDeps, previousEndpointSecret } from './endpoints.ts';
import { postWebhook } from './http-post.ts';
import { signatureHeader } from './signature.ts';

/**
 * How long a delivery waits when an earlier event of its appointment is still on its way to the
 * same endpoint. The earlier one's job wakes it as soon as it is done; this is only the fallback.
 */
export const TURN_WAIT_MS = 30_000;

type Payload = { deliveryId: string; round: number };
type Chain = { endpointId: string; appointmentId: string; eventSeq: number };
interface LoadedRow extends Record<string, unknown> {
  id: string;
  round: number;
  status: 'pending' | 'delivered' | 'failed';
  endpoint_id: string;
  appointment_id: string;
  event_seq: number;
  attempts: number;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  event_at: string;
  url: string;
  company_id: string;
  secret_encrypted: string;
  /** Only while it still signs (its expiry is in the future). */
  previous_secret_encrypted: string | null;
  failure_streak: number;
  disabled: boolean;
  behind: boolean;
}

/**
 * `outbound.deliver`: sends one event to one endpoint, signed per Standard Webhooks, and records
 * the attempt. Deliveries of one appointment to one endpoint go out one at a time in the order
 * of the changes: a later one waits (without spending an attempt) until the earlier is done.
 * A non-2xx answer, a timeout or a refused address throws, and BullMQ retries on the schedule.
 */
export async function processDelivery(
  deps: OutboundDeps,
  payload: Payload,
  context: JobContext,
): Promise<string> {
  // One round trip, written as SQL: this runs for every event and the query builder's cost showed.
  const [found] = await executePreparedOn<LoadedRow>(
    deps.db,
    sql`
    select d.id, d.round, d.status, d.endpoint_id, d.appointment_id, d.event_seq::float8 as event_seq, d.attempts,
      ev.id as event_id, ev.type, ev.data,
      to_char(ev.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as event_at,
      e.company_id, e.url, e.secret_encrypted, e.failure_streak, e.disabled_at is not null as disabled,
      case when e.previous_secret_expires_at > now() then e.previous_secret_encrypted end
        as previous_secret_encrypted,
      exists (
        select 1 from outbound_deliveries earlier
        where earlier.endpoint_id = d.endpoint_id and earlier.appointment_id = d.appointment_id
          and earlier.status = 'pending' and earlier.event_seq < d.event_seq
      ) as behind
    from outbound_deliveries d
    join outbound_events ev on ev.id = d.event_id
    join outbound_endpoints e on e.id = d.endpoint_id
    where d.id = ${payload.deliveryId}`,
  );
  if (found === undefined) return 'endpoint-deleted';
  const delivery = {
    id: found.id,
    endpointId: found.endpoint_id,
    appointmentId: found.appointment_id,
    eventSeq: found.event_seq,
    attempts: found.attempts,
    round: found.round,
    status: found.status,
  };
  const event = { id: found.event_id, type: found.type, at: found.event_at, data: found.data };
  const endpoint = {
    id: found.endpoint_id,
    companyId: found.company_id,
    url: found.url,
    secretEncrypted: found.secret_encrypted,
    previousSecretEncrypted: found.previous_secret_encrypted,
    failureStreak: found.failure_streak,
  };
  if (delivery.round !== payload.round) return 'superseded';
  if (delivery.status === 'delivered') return 'delivered-before';
  if (delivery.status === 'failed') {
    // An operator retried the failed job (dashboard or `jobs:retry`): it becomes pending again.
    await deps.db
      .update(outboundDeliveries)
      .set({ status: 'pending', updatedAt: new Date() })
      .where(and(eq(outboundDeliveries.id, delivery.id), eq(outboundDeliveries.round, payload.round)));
  }
  if (found.disabled) return 'endpoint-disabled';
  if (found.behind) return waitForTurn(deps, delivery, context);

  const body = JSON.stringify({
    type: event.type,
    timestamp: event.at,
    data: event.data,
  });
  const timestamp = Math.floor(Date.now() / 1000);
  const secrets = [endpointSecret(deps, endpoint)];
  const { previousSecretEncrypted } = endpoint;
  if (previousSecretEncrypted !== null) {
    secrets.push(previousEndpointSecret(deps, { companyId: endpoint.companyId, previousSecretEncrypted }));
  }
  const headers = {
    'webhook-id': event.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets, event.id, timestamp, body),
  };
  const outcome = await postWebhook(endpoint.url, headers, body, {
    timeoutMs: deps.config.outbound.timeoutMs,
    allowPrivate: deps.config.outbound.allowPrivate,
    signal: context.signal,
  });
  const ok = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
  // The attempt, its delivery's new state and (when delivered) the next event of the same
  // appointment for this endpoint, in one statement.
  const [recorded] = await executePreparedOn<{
    attempt: number;
    next_id: string | null;
    next_round: number | null;
  }>(
    deps.db,
    sql`
    with counted as (
      update outbound_deliveries set
        attempts = attempts + 1,
        last_status_code = ${outcome.statusCode}::int,
        last_error = ${outcome.error}::text,
        updated_at = now()
        ${ok ? sql`, status = 'delivered', delivered_at = now()` : sql``}
      where id = ${delivery.id}
      returning id, attempts
    ), attempt as (
      insert into outbound_attempts (delivery_id, attempt, status_code, latency_ms, error, response_excerpt)
      select id, attempts, ${outcome.statusCode}::int, ${outcome.latencyMs}::int, ${outcome.error}::text,
        ${outcome.excerpt}::text
      from counted
    ), next as (
      select id, round from outbound_deliveries
      where ${ok} and endpoint_id = ${delivery.endpointId} and appointment_id = ${delivery.appointmentId}
        and status = 'pending' and event_seq > ${delivery.eventSeq}
      order by event_seq
      limit 1
    )
    select counted.attempts as attempt, next.id as next_id, next.round as next_round
    from counted left join next on true`,
  );
  const attempt = recorded?.attempt ?? delivery.attempts + 1;
  // Ids, status and latency only: the body and the answer may carry personal data.
  deps.logger.debug(
    {
      deliveryId: delivery.id,
      endpointId: endpoint.id,
      attempt,
      status: outcome.statusCode,
      error: outcome.error,
      latencyMs: outcome.latencyMs,
    },
    'outbound webhook attempt',
  );
  if (ok) {
    if (endpoint.failureStreak !== 0) {
      await deps.db
        .update(outboundEndpoints)
        .set({ failureStreak: 0, failingSince: null })
        .where(eq(outboundEndpoints.id, endpoint.id));
    }
    if (recorded?.next_id != null)
      await wake(deps, { deliveryId: recorded.next_id, round: recorded.next_round ?? 0 });
    return 'delivered';
  }
  if (outcome.statusCode === 410) {
    // The receiver says it wants no more (Standard Webhooks: disable the endpoint).
    await disableEndpoint(deps, endpoint.id, 'the receiver answered 410 Gone');
    return 'endpoint-gone';
  }
  if (await countFailure(deps, endpoint.id)) return 'endpoint-disabled';
  throw new AppError(
    'UPSTREAM_ERROR',
    outcome.statusCode === null
      ? `webhook endpoint unreachable: ${outcome.error ?? 'no answer'}`
      : `webhook endpoint answered ${outcome.statusCode}`,
    {
      retry: true,
      details: {
        deliveryId: delivery.id,
        statusCode: outcome.statusCode,
        // The backoff waits at least this long (Standard Webhooks: honour Retry-After).
        ...(outcome.retryAfterMs === undefined ? {} : { notBeforeMs: outcome.retryAfterMs }),
      },
    },
  );
}

/**
 * The delivery failed for good (its schedule ran out): recorded as failed, where the dashboard
 * and `pnpm cli deliveries:resend` find it, and the next event of its appointment goes out.
 */
export async function failDelivery(deps: OutboundDeps, payload: Payload, error: unknown): Promise<void> {
  const [failed] = await deps.db
    .update(outboundDeliveries)
    .set({ status: 'failed', updatedAt: new Date() })
    .where(
      and(
        eq(outboundDeliveries.id, payload.deliveryId),
        eq(outboundDeliveries.round, payload.round),
        eq(outboundDeliveries.status, 'pending'),
      ),
    )
    .returning();
  if (failed === undefined) return;
  deps.logger.warn(
    {
      deliveryId: failed.id,
      endpointId: failed.endpointId,
      attempts: failed.attempts,
      reason: error instanceof Error ? error.message.slice(0, 200) : 'failed',
    },
    'outbound webhook delivery failed for good',
  );
  await advanceChain(deps, failed);
}

async function hasEarlierPending(deps: OutboundDeps, delivery: Chain): Promise<boolean> {
  const [earlier] = await deps.db
    .select({ id: outboundDeliveries.id })
    .from(outboundDeliveries)
    .where(
      and(
        eq(outboundDeliveries.endpointId, delivery.endpointId),
        eq(outboundDeliveries.appointmentId, delivery.appointmentId),
        eq(outboundDeliveries.status, 'pending'),
        lt(outboundDeliveries.eventSeq, delivery.eventSeq),
      ),
    )
    .limit(1);
  return earlier !== undefined;
}

async function waitForTurn(deps: OutboundDeps, delivery: Chain, context: JobContext): Promise<never> {
  if (context.token === undefined)
    throw new AppError('INVALID_STATE', 'an earlier event is on its way', { retry: true });
  await context.job.moveToDelayed(Date.now() + TURN_WAIT_MS, context.token);
  // The earlier one may have finished meanwhile and found this job still active: look again.
  if (!(await hasEarlierPending(deps, delivery))) await context.job.promote().catch(() => undefined);
  throw new DelayedError();
}

/** Wakes (or enqueues) the job of the next pending event of the same appointment and endpoint. */
async function advanceChain(deps: OutboundDeps, delivery: Chain): Promise<void> {
  const [next] = await deps.db
    .select({ id: outboundDeliveries.id, round: outboundDeliveries.round })
    .from(outboundDeliveries)
    .where(
      and(
        eq(outboundDeliveries.endpointId, delivery.endpointId),
        eq(outboundDeliveries.appointmentId, delivery.appointmentId),
        eq(outboundDeliveries.status, 'pending'),
        gt(outboundDeliveries.eventSeq, delivery.eventSeq),
      ),
    )
    .orderBy(asc(outboundDeliveries.eventSeq))
    .limit(1);
  if (next !== undefined) await wake(deps, { deliveryId: next.id, round: next.round });
}

async function wake(deps: OutboundDeps, payload: Payload): Promise<void> {
  const job = await deps.queues.queue('outbound').getJob(jobCatalog['outbound.deliver'].jobId(payload));
  if (job === undefined) await deps.queues.enqueue('outbound.deliver', payload);
  else if (await job.isDelayed()) await job.promote().catch(() => undefined);
}

/** Counts a failed attempt; disables the endpoint after a long streak. True when it did. */
async function countFailure(deps: OutboundDeps, endpointId: string): Promise<boolean> {
  const [streak] = await deps.db
    .update(outboundEndpoints)
    .set({
      failureStreak: sql`${outboundEndpoints.failureStreak} + 1`,
      failingSince: sql`coalesce(${outboundEndpoints.failingSince}, now())`,
    })
    .where(eq(outboundEndpoints.id, endpointId))
    .returning({
      count: outboundEndpoints.failureStreak,
      since: outboundEndpoints.failingSince,
      // Measured on the database's clock, which also dated the streak's start (this process's
      // clock may differ from it).
      ageMs: sql<number>`(extract(epoch from now() - ${outboundEndpoints.failingSince}) * 1000)::float8`,
    });
  if (streak === undefined || streak.since === null) return false;
  const { disableAfterFailures, disableAfterMs } = deps.config.outbound;
  if (streak.count < disableAfterFailures || Number(streak.ageMs) < disableAfterMs) return false;
  return disableEndpoint(
    deps,
    endpointId,
    `${streak.count} failed attempts in a row since ${streak.since.toISOString()}`,
  );
}

async function disableEndpoint(deps: OutboundDeps, endpointId: string, reason: string): Promise<boolean> {
  const [disabled] = await deps.db
    .update(outboundEndpoints)
    .set({ disabledAt: new Date(), disabledReason: reason, updatedAt: new Date() })
    .where(and(eq(outboundEndpoints.id, endpointId), sql`${outboundEndpoints.disabledAt} is null`))
    .returning({ id: outboundEndpoints.id });
  if (disabled !== undefined) {
    deps.logger.warn({ endpointId, reason }, 'webhook endpoint disabled; an operator re-enables it');
  }
  return true;
}
