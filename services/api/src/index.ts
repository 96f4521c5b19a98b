export { buildApp } from './app.ts';
export type { ApiDeps } from './deps.ts';
export { createApiDeps } from './deps.ts';
export type { TokenLookup } from './plugins/auth.ts';
export { createTokenLookup } from './plugins/auth.ts';
