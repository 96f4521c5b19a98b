import http from 'node:http';
import https from 'node:https';
import type { StructuredLogger } from '@calgate/errors';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import got, { type Method, RequestError } from 'got';
import type { z } from 'zod';
import { CalcomError, classifyCalcomError, parseErrorBody } from './errors.ts';
import { API_VERSIONS, type CalcomOperation, familyOf } from './operations.ts';
import { type RateLimitInfo, readRateLimit } from './rate-limit.ts';
import { keyFingerprint, redact } from './redact.ts';

/** The project's one logger shape (`StructuredLogger`), under the name this package exported. */
export type CalcomLogger = StructuredLogger;

export interface RequestContext {
  operation: CalcomOperation;
  keyFingerprint: string;
}

export interface ResponseContext extends RequestContext {
  status: number;
  durationMs: number;
  rateLimit: RateLimitInfo | undefined;
  error: CalcomError | undefined;
}

export interface CalcomClientOptions {
  /** e.g. https://api.cal.com/v2 */
  baseUrl: string;
  apiKey: string;
  /** cal-api-version of the bookings endpoints (CALCOM_API_VERSION). @defaultValue '2024-08-13' */
  bookingsApiVersion?: string;
  /** @defaultValue 30000 */
  timeoutMs?: number;
  logger: CalcomLogger;
  /** Log request and response bodies, redacted. @defaultValue false */
  debug?: boolean;
  /** Every request passes through these: the shared budget plugs in here, and metrics. */
  hooks?: {
    beforeRequest?(ctx: RequestContext, signal?: AbortSignal): Promise<void>;
    afterResponse?(ctx: ResponseContext): void;
  };
}

/** One request as the operations describe it; the transport adds auth, version, budget and tracing. */
export interface TransportRequest {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

/** Sends one Cal.com operation and answers its parsed `data`, or throws a mapped `CalcomError`. */
export type CalcomCall = <S extends z.ZodType>(
  operation: CalcomOperation,
  method: Method,
  path: string,
  schema: S,
  request: TransportRequest,
) => Promise<z.infer<S>>;

export interface CalcomTransport {
  call: CalcomCall;
  keyFingerprint: string;
  /** The rate-limit headers of the latest answer that carried them. */
  readonly lastRateLimit: RateLimitInfo | undefined;
}

// One keep-alive pool per process, shared by every client.
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};
const tracer = trace.getTracer('@calgate/calcom');

/**
 * The HTTP side of the Cal.com client for one key: the shared keep-alive agents, the budget hook
 * before every request, a span per call, the right `cal-api-version`, and every failure mapped to a
 * `CalcomError`. It never retries by itself (BullMQ owns retries) and never logs the key.
 */
export function createCalcomTransport(options: CalcomClientOptions): CalcomTransport {
  const base = options.baseUrl.replace(/\/+$/, '');
  const fingerprint = keyFingerprint(options.apiKey);
  const bookingsVersion = options.bookingsApiVersion ?? '2024-08-13';
  const timeoutMs = options.timeoutMs ?? 30_000;
  let lastRateLimit: RateLimitInfo | undefined;
  // What every call of this key shares, merged once: got merges a call's options into these.
  const send = got.extend({
    prefixUrl: base,
    headers: { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' },
    responseType: 'text',
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: { request: timeoutMs },
    agent: agents,
  });

  function versionFor(operation: CalcomOperation): string | undefined {
    const family = familyOf(operation);
    if (family === 'bookings') return bookingsVersion;
    if (family === 'none') return undefined;
    return API_VERSIONS[family];
  }

  async function call<S extends z.ZodType>(
    operation: CalcomOperation,
    method: Method,
    path: string,
    schema: S,
    request: TransportRequest,
  ): Promise<z.infer<S>> {
    const ctx: RequestContext = { operation, keyFingerprint: fingerprint };
    await options.hooks?.beforeRequest?.(ctx, request.signal);
    return tracer.startActiveSpan(`calcom ${operation}`, { kind: SpanKind.CLIENT }, async (span) => {
      const started = performance.now();
      let status = 0;
      let rateLimit: RateLimitInfo | undefined;
      let failure: CalcomError | undefined;
      try {
        const version = versionFor(operation);
        const searchParams = Object.fromEntries(
          Object.entries(request.query ?? {}).filter(
            (entry): entry is [string, string | number] => entry[1] !== undefined,
          ),
        );
        span.setAttributes({
          'http.request.method': method,
          'url.path': `/v2${path}`,
          'calcom.operation': operation,
        });
        if (options.debug) {
          options.logger.debug(
            { operation, path, query: redact(searchParams), body: redact(request.body) },
            'calcom request',
          );
        }
        const response = await send(path.replace(/^\//, ''), {
          method,
          ...(version === undefined ? {} : { headers: { 'cal-api-version': version } }),
          searchParams,
          ...(request.body === undefined ? {} : { json: request.body }),
          signal: request.signal,
        });
        status = response.statusCode;
        rateLimit = readRateLimit(response.headers);
        if (rateLimit !== undefined) lastRateLimit = rateLimit;
        span.setAttribute('http.response.status_code', status);
        const json = parseJson(response.body);
        if (options.debug) options.logger.debug({ operation, status, body: redact(json) }, 'calcom response');
        if (status >= 400) {
          const parsed = parseErrorBody(json ?? response.body);
          const mapped = classifyCalcomError(operation, status, parsed);
          failure = new CalcomError(mapped.code, mapped.message, {
            operation,
            upstreamStatus: status,
            calcomCode: parsed.calcomCode,
            rateLimit,
            retry: mapped.retry,
            details: {
              upstreamStatus: status,
              upstreamMessage: parsed.message.slice(0, 500),
              // A 429 pauses the key until Cal.com's reset (no Retry-After; 60 s when absent).
              ...(status === 429 ? { retryAfterMs: (rateLimit?.resetSeconds || 60) * 1000 } : {}),
            },
          });
          throw failure;
        }
        const result = schema.safeParse(json);
        if (!result.success) {
          options.logger.error(
            {
              operation,
              status,
              issues: result.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
            },
            'calcom answer did not match the contract',
          );
          failure = new CalcomError(
            'UPSTREAM_ERROR',
            `Cal.com answered ${operation} in an unexpected shape`,
            {
              operation,
              upstreamStatus: status,
              retry: false,
            },
          );
          throw failure;
        }
        return result.data;
      } catch (error) {
        failure ??= toTransportError(operation, error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: failure.code });
        throw failure;
      } finally {
        const durationMs = Math.round(performance.now() - started);
        const entry = { operation, method, path, status, durationMs, key: fingerprint, code: failure?.code };
        if (failure === undefined) options.logger.debug(entry, 'calcom call');
        else options.logger.info(entry, 'calcom call failed');
        options.hooks?.afterResponse?.({ ...ctx, status, durationMs, rateLimit, error: failure });
        span.end();
      }
    });
  }

  return {
    call,
    keyFingerprint: fingerprint,
    get lastRateLimit(): RateLimitInfo | undefined {
      return lastRateLimit;
    },
  };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/** Failures before any answer: timeouts, resets, refusals, aborts. All may be retried. */
function toTransportError(operation: CalcomOperation, error: unknown): CalcomError {
  if (error instanceof CalcomError) return error;
  const name = (error as { name?: string }).name;
  const code = (error as { code?: string }).code;
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    return new CalcomError('UPSTREAM_TIMEOUT', `Cal.com did not answer ${operation} in time`, {
      operation,
      retry: true,
      cause: error,
    });
  }
  if (name === 'AbortError' || code === 'ERR_ABORTED') {
    return new CalcomError('UPSTREAM_UNAVAILABLE', `${operation} was aborted`, {
      operation,
      retry: true,
      cause: error,
    });
  }
  if (error instanceof RequestError || (code !== undefined && UNAVAILABLE_CODES.has(code))) {
    return new CalcomError(
      'UPSTREAM_UNAVAILABLE',
      `Cal.com could not be reached (${code ?? 'network error'})`,
      {
        operation,
        retry: true,
        cause: error,
      },
    );
  }
  if (error instanceof Error && /aborted|abort/i.test(error.message)) {
    return new CalcomError('UPSTREAM_UNAVAILABLE', `${operation} was aborted`, {
      operation,
      retry: true,
      cause: error,
    });
  }
  return new CalcomError('INTERNAL', `Unexpected failure calling Cal.com ${operation}`, {
    operation,
    retry: true,
    cause: error,
  });
}
