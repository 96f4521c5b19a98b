import {
  type OutboundDeliveryStatus,
  outboundAttempts,
  outboundDeliveries,
  outboundEvents,
} from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';

type RequeueDeps = Pick<DomainDeps, 'db' | 'queues'>;

/** Enqueues a new round for each delivery (a fresh job with every attempt of the schedule). */
async function enqueueRounds(deps: RequeueDeps, rows: Array<{ id: string; round: number }>): Promise<void> {
  for (const row of rows)
    await deps.queues.enqueue('outbound.deliver', { deliveryId: row.id, round: row.round });
}

/** After a re-enable: every pending delivery of the endpoint gets a new job (they go out in order). */
export async function requeueEndpoint(deps: RequeueDeps, endpointId: string): Promise<number> {
  const rows = await deps.db
    .update(outboundDeliveries)
    .set({ round: sql`${outboundDeliveries.round} + 1`, updatedAt: new Date() })
    .where(and(eq(outboundDeliveries.endpointId, endpointId), eq(outboundDeliveries.status, 'pending')))
    .returning({
      id: outboundDeliveries.id,
      round: outboundDeliveries.round,
      seq: outboundDeliveries.eventSeq,
    });
  rows.sort((a, b) => a.seq - b.seq);
  await enqueueRounds(deps, rows);
  return rows.length;
}

/**
 * Sends failed deliveries again (their attempts start over): one by id, or every failed one of
 * an endpoint. A resent event keeps its id, so a receiver that deduplicates is safe.
 * @throws AppError NOT_FOUND for an unknown delivery (or one of another endpoint than given);
 * INVALID_STATE for one that did not fail.
 */
export async function resendDeliveries(
  deps: RequeueDeps,
  target: { endpointId?: string | undefined; deliveryId?: string | undefined },
): Promise<string[]> {
  const conditions = [
    target.endpointId === undefined ? undefined : eq(outboundDeliveries.endpointId, target.endpointId),
    target.deliveryId === undefined ? undefined : eq(outboundDeliveries.id, target.deliveryId),
  ].filter((c) => c !== undefined);
  if (conditions.length === 0) throw new Error('a delivery or an endpoint is required');
  if (target.deliveryId !== undefined) {
    const [row] = await deps.db
      .select({ status: outboundDeliveries.status })
      .from(outboundDeliveries)
      .where(and(...conditions));
    if (row === undefined) {
      throw new AppError('NOT_FOUND', `No delivery ${target.deliveryId.slice(0, 64)}`, {
        details: { field: 'deliveryId' },
      });
    }
    if (row.status !== 'failed') {
      throw new AppError(
        'INVALID_STATE',
        `The delivery is ${row.status}; only failed deliveries are resent`,
        {
          details: { status: row.status },
        },
      );
    }
  }
  const rows = await deps.db
    .update(outboundDeliveries)
    .set({ status: 'pending', round: sql`${outboundDeliveries.round} + 1`, updatedAt: new Date() })
    .where(and(...conditions, eq(outboundDeliveries.status, 'failed')))
    .returning({
      id: outboundDeliveries.id,
      round: outboundDeliveries.round,
      seq: outboundDeliveries.eventSeq,
    });
  rows.sort((a, b) => a.seq - b.seq);
  await enqueueRounds(deps, rows);
  return rows.map((r) => r.id);
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  appointmentId: string;
  status: OutboundDeliveryStatus;
  attempts: Array<{
    attempt: number;
    at: string;
    statusCode: number | null;
    latencyMs: number;
    error: string | null;
    responseExcerpt: string | null;
  }>;
  createdAt: string;
  deliveredAt: string | null;
}

/** An endpoint's deliveries, newest first, each with its attempts. */
export async function listDeliveries(
  deps: Pick<DomainDeps, 'db'>,
  endpointId: string,
  options: { status?: OutboundDeliveryStatus | undefined; limit?: number | undefined } = {},
): Promise<DeliveryView[]> {
  const rows = await deps.db
    .select({ delivery: outboundDeliveries, type: outboundEvents.type })
    .from(outboundDeliveries)
    .innerJoin(outboundEvents, eq(outboundEvents.id, outboundDeliveries.eventId))
    .where(
      and(
        eq(outboundDeliveries.endpointId, endpointId),
        options.status === undefined ? undefined : eq(outboundDeliveries.status, options.status),
      ),
    )
    .orderBy(desc(outboundDeliveries.eventSeq))
    .limit(Math.min(options.limit ?? 50, 500));
  const attempts =
    rows.length === 0
      ? []
      : await deps.db
          .select()
          .from(outboundAttempts)
          .where(
            inArray(
              outboundAttempts.deliveryId,
              rows.map((r) => r.delivery.id),
            ),
          )
          .orderBy(asc(outboundAttempts.id));
  return rows.map(({ delivery, type }) => ({
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: type,
    appointmentId: delivery.appointmentId,
    status: delivery.status,
    attempts: attempts
      .filter((a) => a.deliveryId === delivery.id)
      .map((a) => ({
        attempt: a.attempt,
        at: a.createdAt.toISOString(),
        statusCode: a.statusCode,
        latencyMs: a.latencyMs,
        error: a.error,
        responseExcerpt: a.responseExcerpt,
      })),
    createdAt: delivery.createdAt.toISOString(),
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
  }));
}
