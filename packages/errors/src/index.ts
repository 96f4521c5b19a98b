export type { AppErrorOptions } from './app-error.ts';
export { AppError, isAppError } from './app-error.ts';
export type { ErrorCode } from './codes.ts';
export { ERROR_CODES, httpStatusFor } from './codes.ts';
export type { StructuredLogger } from './logger.ts';
export { withLogFields } from './logger.ts';
export type { PublicFailure } from './public-failure.ts';
export { INTERNAL_FAILURE_MESSAGE, publicFailure } from './public-failure.ts';
export { isBackingServiceUnavailable } from './unavailable.ts';
