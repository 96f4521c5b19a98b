export type { CreateLoggerOptions, Logger } from './logger.ts';
export { calcomLogger, createLogger, REDACT_PATHS, withLogBindings } from './logger.ts';
