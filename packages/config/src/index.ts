export type { Config } from './config.ts';
export { ConfigError, loadConfig, loadConfigOrExit } from './config.ts';
export type { Env } from './schema.ts';
export { envSchema } from './schema.ts';
