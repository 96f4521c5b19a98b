export type { DomainRuntime, RuntimeOptions } from './runtime.ts';
export { createDomainRuntime } from './runtime.ts';
