export type { Budget, BudgetOptions } from './budget.ts';
export { createBudget } from './budget.ts';
export type { BucketDecision, BucketLimit, TokenBuckets } from './token-bucket.ts';
export { createTokenBuckets } from './token-bucket.ts';
