export type { Budget, BudgetOptions, CallKind, Claimant } from './budget.ts';
export { ANONYMOUS, createBudget, reserveFor } from './budget.ts';
export { LEASE_MS, type Lease, leasedBuckets, leaseSize, nextLeaseSize } from './leased-buckets.ts';
export type { BucketDecision, BucketLimit, TokenBuckets } from './token-bucket.ts';
export { createTokenBuckets } from './token-bucket.ts';
