import { AsyncLocalStorage } from 'node:async_hooks';
import { context, trace } from '@opentelemetry/api';
import { type Logger, type LoggerOptions, pino } from 'pino';
import { scrubLogObject, serializeError } from './scrub.ts';

/**
 * Paths pino blanks out wherever they appear in a log object. The Cal.com client never logs
 * keys in the first place; this is the second line of defence for everything else (and
 * `scrubLogObject` the third, at any depth).
 */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-cal-signature-256"]',
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface CreateLoggerOptions {
  name: string;
  level?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
  /**
   * LOG_PERSONAL_DATA: keep customers' emails, phones, names and notes in log lines (for a
   * debugging session). Secrets are removed regardless. @defaultValue false
   */
  personalData?: boolean;
}

type Bindings = Record<string, string | number | undefined>;

const bound = new AsyncLocalStorage<Bindings>();

/**
 * Runs `fn` with `bindings` added to every line any logger writes while it runs, including the
 * lines of collaborators shared by all jobs (the Cal.com client, the budget) that a child logger
 * handed down the call chain could not reach. The job boundary binds the job id, queue, attempt
 * and appointment id this way.
 */
export function withLogBindings<T>(bindings: Bindings, fn: () => T): T {
  const outer = bound.getStore();
  return bound.run(outer === undefined ? bindings : { ...outer, ...bindings }, fn);
}

/**
 * An HTTP request as a log line shows it (Fastify's `incoming request`): the path without its query
 * string, on every route and on none (a mistyped URL too), since a query may carry a customer's
 * phone number or email address.
 */
function serializeRequest(request: {
  method?: string;
  url?: string;
  host?: string;
  socket?: { remoteAddress?: string; remotePort?: number };
}) {
  return {
    method: request.method,
    url: request.url?.split('?')[0],
    host: request.host,
    remoteAddress: request.socket?.remoteAddress,
    remotePort: request.socket?.remotePort,
  };
}

/**
 * A pino logger whose every line carries the active trace and span ids, so a log line can be
 * joined to its trace, and the fields bound by `withLogBindings`. Lines carry ids, not personal
 * data: secrets at any depth are redacted, customers' personal data too unless `personalData`,
 * and an error (`err`) is logged without the values of the statement that failed.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const scrub = { personalData: options.personalData ?? false };
  const pinoOptions: LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: serializeRequest,
      err: (error: unknown) => serializeError(error, scrub),
      error: (error: unknown) => serializeError(error, scrub),
    },
    formatters: { log: (object) => scrubLogObject(object, scrub) as Record<string, unknown> },
    mixin() {
      const fields = bound.getStore();
      const span = trace.getSpan(context.active());
      // A copy: pino merges each line's own fields into the object mixin returns, so handing it
      // the bound store would carry one line's fields (a Cal.com body) into every later line.
      if (span === undefined) return { ...fields };
      const { traceId, spanId } = span.spanContext();
      return { ...fields, trace_id: traceId, span_id: spanId };
    },
  };
  return options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
}

/**
 * The logger for Cal.com exchanges: with `CALCOM_DEBUG` it writes the client's debug lines
 * (requests and answers, personal data redacted) whatever LOG_LEVEL says, so the flag works on
 * its own. Only `silent` stays silent.
 */
export function calcomLogger(logger: Logger, debug: boolean): Logger {
  if (!debug || logger.level === 'silent') return logger;
  return logger.child({}, { level: 'debug' });
}

export type { Logger };
