import { AppError, type ErrorCode, httpStatusFor, isBackingServiceUnavailable } from '@calgate/errors';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { unstorableMessage, unstorablePath } from './unstorable.ts';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

/** Fastify's own client-error codes, mapped to ours. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Content-Type must be application/json',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'VALIDATION_FAILED', message: 'Request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'VALIDATION_FAILED',
    message: 'Request body is empty but Content-Type is application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'VALIDATION_FAILED', message: 'Content-Length is invalid' },
};

/**
 * PostgreSQL's "this value cannot be stored" errors (NUL characters, unpaired surrogates, text
 * that is not valid for the column): the caller's input, so a 400, never a 500.
 */
const UNSTORABLE_SQLSTATES = new Set([
  '22021',
  '22P05',
  '22P02',
  '22001',
  '22003',
  '22007',
  '22008',
  '54001',
]);

function sqlState(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when PostgreSQL refused a value of the request itself (see UNSTORABLE_SQLSTATES). */
export function isUnstorableInput(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && UNSTORABLE_SQLSTATES.has(state);
}

/** Errors Fastify raises before routing (bad URLs, over-long parameters), in our format. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status =
    error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
      ? error.statusCode
      : 400;
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'A path parameter is too long'
      : error.code === 'FST_ERR_BAD_URL'
        ? 'The URL is malformed'
        : 'The request is malformed';
  void reply.status(status).send(errorBody('VALIDATION_FAILED', message, { field: 'url' }));
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function describeValidation(error: FastifyError): { message: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  const context = error.validationContext ?? 'request';
  for (const issue of (error.validation ?? []) as ValidationIssue[]) {
    const path = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    const missing =
      typeof issue.params?.missingProperty === 'string' ? issue.params.missingProperty : undefined;
    const field = [context, path, missing].filter((part) => part !== undefined && part !== '').join('.');
    fields[field] ??= issue.message ?? 'is invalid';
  }
  const message = Object.entries(fields)
    .map(([field, problem]) => `${field}: ${problem}`)
    .join('; ');
  return { message: message === '' ? `Invalid ${context}` : message, fields };
}

/** Builds the body every error of our API has. */
export function errorBody(
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): ErrorBody {
  return { error: { code, message, details } };
}

/** `params.id`, `query.from`: the first part of the URL holding text PostgreSQL cannot store. */
function unstorableUrlPart(request: FastifyRequest | undefined): string | undefined {
  for (const [part, values] of [
    ['params', request?.params],
    ['query', request?.query],
  ] as const) {
    const found = unstorablePath(values);
    if (found !== undefined && found !== '') return `${part}.${found}`;
  }
  return undefined;
}

function toErrorReply(
  error: FastifyError | AppError | Error,
  request?: FastifyRequest,
): { status: number; body: ErrorBody } {
  if (error instanceof AppError) {
    return { status: error.httpStatus, body: errorBody(error.code, error.message, error.details) };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    const { message, fields } = describeValidation(fastifyError);
    return { status: 400, body: errorBody('VALIDATION_FAILED', message, { fields }) };
  }
  if (isUnstorableInput(error)) {
    // The body was checked when it was parsed; the URL's parts are looked at only now.
    const field = unstorableUrlPart(request);
    return {
      status: 400,
      body:
        field === undefined
          ? errorBody(
              'VALIDATION_FAILED',
              'A value in the request cannot be stored (NUL characters, unpaired surrogates or out-of-range values)',
            )
          : errorBody('VALIDATION_FAILED', unstorableMessage(field), { field }),
    };
  }
  const known = fastifyError.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code];
  if (known !== undefined)
    return { status: httpStatusFor(known.code), body: errorBody(known.code, known.message) };
  if (isBackingServiceUnavailable(error)) {
    return {
      status: 503,
      body: errorBody('DATABASE_UNAVAILABLE', 'A backing service is unavailable; try again shortly'),
    };
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return { status, body: errorBody('VALIDATION_FAILED', fastifyError.message) };
  }
  return { status: 500, body: errorBody('INTERNAL', 'Internal error') };
}

/**
 * The one place where errors become HTTP answers: `{"error":{"code","message","details"}}`.
 * Internals of 5xx are logged with the request id and never sent to the caller.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toErrorReply(error, request);
    const retryAfterMs = body.error.details.retryAfterMs;
    if (typeof retryAfterMs === 'number' && retryAfterMs > 0) {
      reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
    }
    if (status >= 500) {
      request.log.error({ err: error, code: body.error.code }, 'request failed');
      body.error.details = { ...body.error.details, requestId: request.id };
    } else {
      request.log.info({ code: body.error.code, status }, body.error.message);
    }
    return reply.status(status).send(body);
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(errorBody('NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`)),
  );
}
