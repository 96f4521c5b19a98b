export type { LocalCacheOptions } from './local-cache.ts';
export { cacheSizes, LocalCache, resetCaches } from './local-cache.ts';
