import type { Redis } from 'ioredis';
import type { DomainDeps } from '../deps.ts';

/** Every company whose token lookups must be forgotten, after a reconnect may have lost messages. */
export const ALL_COMPANIES = '*';

const channelOf = (prefix: string) => `${prefix}:auth-changed`;

/**
 * Tells every API process that a company's tokens changed (a token revoked, the company
 * disabled), so none of them keeps answering from a cached lookup. The database stays the truth:
 * when Redis cannot be reached the change still holds and caches let go of it within their
 * lifetime.
 */
export async function announceAuthChange(
  deps: Pick<DomainDeps, 'redis' | 'redisPrefix' | 'logger'>,
  companyId: string,
): Promise<void> {
  try {
    await deps.redis.publish(channelOf(deps.redisPrefix), companyId);
  } catch (error) {
    deps.logger.warn(
      { err: error, companyId },
      'could not announce a token change; API processes drop their cached lookups within 10 s',
    );
  }
}

/**
 * Listens for `announceAuthChange` on a subscriber connection (which the caller owns and
 * closes) and calls `forget` with the company id, or with `ALL_COMPANIES` after the connection
 * came back (messages sent while it was away are lost).
 * @returns a promise that settles once the subscription is in place.
 */
export function listenForAuthChanges(
  subscriber: Redis,
  prefix: string,
  forget: (companyId: string) => void,
): Promise<void> {
  const channel = channelOf(prefix);
  let connectedBefore = false;
  subscriber.on('ready', () => {
    if (connectedBefore) forget(ALL_COMPANIES);
    connectedBefore = true;
  });
  subscriber.on('message', (received: string, companyId: string) => {
    if (received === channel) forget(companyId);
  });
  return subscriber.subscribe(channel).then(
    () => undefined,
    () => undefined,
  );
}
