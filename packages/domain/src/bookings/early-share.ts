import type { JobContext } from '@calgate/jobs';
import type { DomainDeps } from '../deps.ts';

/** A Cal.com budget share a job took before it had read its appointment, and how that went. */
export interface EarlyShare {
  keyId: string;
  companyId: string;
  outcome: Promise<PromiseSettledResult<void>>;
}

/**
 * A first run whose job names its company, and whose company's key this process has resolved
 * before, takes the budget's share for its send now, while its first statement runs (one hop less
 * before the send). Not after an earlier attempt or send: that run may look in Cal.com instead of
 * sending. A share that goes unspent is dropped unused after `PREPAID_MS`: the budget is never
 * overspent.
 */
export function takeShareEarly(
  deps: Pick<DomainDeps, 'calcom'>,
  payload: { companyId?: string | undefined },
  context: JobContext,
): EarlyShare | undefined {
  const { companyId } = payload;
  if (companyId === undefined || context.job.attemptsMade > 0 || context.job.data.sent === true)
    return undefined;
  const keyId = deps.calcom.lastKeyOf(companyId);
  if (keyId === undefined) return undefined;
  const outcome = deps.calcom.prepay(keyId, companyId, context.signal).then(
    (): PromiseSettledResult<void> => ({ status: 'fulfilled', value: undefined }),
    (reason: unknown): PromiseSettledResult<void> => ({ status: 'rejected', reason }),
  );
  return { keyId, companyId, outcome };
}

/**
 * The share for a send as `companyId` on `keyId`: the one taken early (`settled` is its outcome)
 * when it was taken as exactly that, else one taken now. A share taken early as another company's
 * or on another key is never spent for this send.
 */
export function shareFor(
  deps: Pick<DomainDeps, 'calcom'>,
  early: { share: EarlyShare | undefined; settled: PromiseSettledResult<void> | undefined },
  send: { keyId: string; companyId: string; signal: AbortSignal | undefined },
): Promise<void> {
  const { share, settled } = early;
  if (
    share !== undefined &&
    settled !== undefined &&
    share.companyId === send.companyId &&
    share.keyId === send.keyId
  )
    return settled.status === 'fulfilled' ? Promise.resolve() : Promise.reject(settled.reason);
  return deps.calcom.prepay(send.keyId, send.companyId, send.signal);
}
