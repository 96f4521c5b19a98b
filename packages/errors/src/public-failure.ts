import { isAppError } from './app-error.ts';
import type { ErrorCode } from './codes.ts';

/** What a caller may read of a failure that a job recorded. */
export interface PublicFailure {
  code: ErrorCode;
  message: string;
}

/** Shown for failures that are not ours to describe: the detail is in the log, under the job. */
export const INTERNAL_FAILURE_MESSAGE = 'The gateway failed unexpectedly; the details are in its log';

/**
 * The code and message a caller gets for a failure: ours for an AppError (the messages we write);
 * for anything else (a bug, a database driver's error with its SQL and parameters) INTERNAL with a
 * fixed text. The caller of this function logs the original error.
 */
export function publicFailure(error: unknown): PublicFailure {
  if (isAppError(error)) return { code: error.code, message: error.message.slice(0, 500) };
  return { code: 'INTERNAL', message: INTERNAL_FAILURE_MESSAGE };
}
