export { buildApp } from './app.ts';
export type { ApiDeps } from './deps.ts';
export { createApiDeps } from './deps.ts';
