export type { Budget, BudgetOptions } from './budget.ts';
export { createBudget } from './budget.ts';
