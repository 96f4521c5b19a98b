export type { Config } from './config.ts';
export { ConfigError, DEFAULT_MAX_RETRIES, loadConfig, loadConfigOrExit } from './config.ts';
export type { OperatorCredentials } from './operator.ts';
export { isOperator, OPERATOR_CHALLENGE } from './operator.ts';
export type { Env } from './schema.ts';
export { envSchema } from './schema.ts';
