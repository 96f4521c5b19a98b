import { type ErrorCode, httpStatusFor } from './codes.ts';

export interface AppErrorOptions {
  /** Extra machine-readable context for the caller (never secrets). */
  details?: Record<string, unknown>;
  /**
   * Whether the same operation may succeed if tried again unchanged.
   * @defaultValue false
   */
  retry?: boolean;
  cause?: unknown;
}

/**
 * The one error type that crosses package boundaries. `code` maps to an HTTP status
 * once, at the API edge; `retry` tells the job boundary whether to back off or give up.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retry: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retry = options.retry ?? false;
    this.details = options.details;
  }

  /** The HTTP status our API answers with for this error. */
  get httpStatus(): number {
    return httpStatusFor(this.code);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
