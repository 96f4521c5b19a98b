/**
 * The logging surface every package writes to (pino's shape: fields first, then the message).
 * It lives here, in the one package every other depends on, so the domain, the job boundary and the
 * Cal.com client share one interface instead of each declaring its own.
 */
export interface StructuredLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * A logger that adds `fields` to every line (a line's own fields win), for any `StructuredLogger`
 * whether or not it has pino's `child`.
 */
export function withLogFields(logger: StructuredLogger, fields: Record<string, unknown>): StructuredLogger {
  return {
    debug: (obj, msg) => logger.debug({ ...fields, ...obj }, msg),
    info: (obj, msg) => logger.info({ ...fields, ...obj }, msg),
    warn: (obj, msg) => logger.warn({ ...fields, ...obj }, msg),
    error: (obj, msg) => logger.error({ ...fields, ...obj }, msg),
  };
}
