/** Cal.com's answers, in its three error body shapes. */
export class SandboxHttpError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown, message = 'sandbox error') {
    super(message);
    this.status = status;
    this.body = body;
  }
}

const EXCEPTION: Record<number, string> = {
  400: 'BadRequestException',
  401: 'UnauthorizedException',
  403: 'ForbiddenException',
  404: 'NotFoundException',
  409: 'ConflictException',
  422: 'UnprocessableEntityException',
  429: 'ThrottlerException',
};

/** Shape 1: `{status:"error", timestamp, path, error:{code, message}}`. */
export function shape1(status: number, path: string, message: string, code?: string): SandboxHttpError {
  return new SandboxHttpError(
    status,
    {
      status: 'error',
      timestamp: new Date().toISOString(),
      path,
      error: { code: code ?? EXCEPTION[status] ?? 'HttpException', message },
    },
    message,
  );
}

/** Shape 2: `{statusCode, message}`, from Cal.com's core booking code. */
export function shape2(status: number, message: string): SandboxHttpError {
  return new SandboxHttpError(status, { statusCode: status, message }, message);
}

/** Shape 3: the bare 500. */
export function internalError(): SandboxHttpError {
  return new SandboxHttpError(
    500,
    { statusCode: 500, message: 'Internal server error' },
    'Internal server error',
  );
}

/** The body Cal.com sends for a status, for injected faults without their own body. */
export function defaultFaultBody(status: number, path: string): unknown {
  if (status >= 500) return internalError().body;
  if (status === 429) return shape1(429, path, 'ThrottlerException: Too Many Requests').body;
  return shape1(status, path, `Injected fault (${status})`).body;
}
