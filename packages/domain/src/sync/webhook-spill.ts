import { errorLogFields } from '@calgate/jobs';
import type { DomainDeps } from '../deps.ts';
import { type InboxRow, inboxWriter } from './inbox-writer.ts';

type SpillDeps = Pick<DomainDeps, 'redis' | 'redisPrefix'>;

const spillKey = (prefix: string) => `${prefix}:webhooks:spill`;
const drainingKey = (prefix: string) => `${prefix}:webhooks:spill:draining`;

/**
 * A verified delivery PostgreSQL could not store, kept in Redis until it can: Cal.com delivers a
 * webhook once, so answering 503 would lose it. The row keeps the id the answer named.
 * @throws when Redis cannot keep it either (the caller then answers 503).
 */
export async function spillDelivery(deps: SpillDeps, row: InboxRow & { id: string }): Promise<void> {
  await deps.redis.rpush(spillKey(deps.redisPrefix), JSON.stringify(row));
}

/**
 * Moves spilled deliveries into the inbox and enqueues them, once PostgreSQL answers again. Each
 * is moved to a `draining` list before it is written and removed from it after, so a worker that
 * dies half-way leaves it there, and the next drain writes it again: writes are idempotent (the
 * inbox's dedupe key), so two workers draining at once write nothing twice.
 * @returns how many deliveries were written to the inbox.
 */
export async function drainWebhookSpill(
  deps: Pick<DomainDeps, 'db' | 'redis' | 'redisPrefix' | 'queues' | 'logger'>,
  limit = 500,
): Promise<number> {
  const spill = spillKey(deps.redisPrefix);
  const draining = drainingKey(deps.redisPrefix);
  // Left by a drain that stopped half-way (PostgreSQL away again, a crash): first.
  const pending = await deps.redis.lrange(draining, 0, limit - 1);
  let moved = 0;
  for (let n = 0; n < limit; n++) {
    const item = n < pending.length ? pending[n] : await deps.redis.lmove(spill, draining, 'LEFT', 'RIGHT');
    if (item === null || item === undefined) break;
    const row = JSON.parse(item) as InboxRow & { id: string };
    try {
      const stored = await inboxWriter(deps.db).store(row);
      if (stored.fresh) {
        await deps.queues.enqueue('webhook.process', { inboxId: stored.id }).catch(() => undefined);
      }
    } catch (error) {
      // Still away: the delivery stays in `draining` for the next sweep.
      deps.logger.warn(
        { ...errorLogFields(error).fields },
        'spilled webhook not yet stored; the next sweep retries',
      );
      break;
    }
    await deps.redis.lrem(draining, 1, item);
    moved++;
  }
  if (moved > 0)
    deps.logger.info({ moved }, 'webhook deliveries kept in Redis during a PostgreSQL outage stored');
  return moved;
}
