import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classifyCalcomError,
  createCalcomClient,
  isAlreadyCancelled,
  keyFingerprint,
  parseErrorBody,
  redact,
} from '../src/index.ts';

describe('classifyCalcomError', () => {
  const shape1 = (code: string, message: string) => ({
    status: 'error',
    timestamp: 't',
    path: '/v2/x',
    error: { code, message },
  });
  it.each([
    [
      'bookings.create',
      400,
      { statusCode: 400, message: 'User either already has booking at this time or is not available' },
      'SLOT_UNAVAILABLE',
      false,
    ],
    [
      'bookings.create',
      400,
      shape1(
        'BadRequestException',
        'One of the hosts either already has booking at this time or is not available',
      ),
      'SLOT_UNAVAILABLE',
      false,
    ],
    ['bookings.create', 409, shape1('booking_conflict_error', 'conflict'), 'SLOT_UNAVAILABLE', false],
    ['slots.reserve', 422, shape1('UnprocessableEntityException', 'reserved'), 'SLOT_UNAVAILABLE', false],
    [
      'slots.get',
      404,
      shape1('NotFoundException', 'Event type with id 5 not found.'),
      'INVALID_EVENT_TYPE',
      false,
    ],
    [
      'bookings.get',
      404,
      shape1('NotFoundException', 'Booking with uid=x not found'),
      'BOOKING_NOT_FOUND',
      false,
    ],
    [
      'bookings.cancel',
      400,
      shape1('BadRequestException', 'This booking has been cancelled already.'),
      'INVALID_STATE',
      false,
    ],
    [
      'slots.get',
      400,
      shape1('BadRequestException', 'timeZone must be a valid IANA time zone'),
      'INVALID_TIMEZONE',
      false,
    ],
    [
      'bookings.create',
      400,
      shape1('BadRequestException', 'property end should not exist'),
      'VALIDATION_FAILED',
      false,
    ],
    ['me.get', 401, shape1('UnauthorizedException', 'Invalid Access Token.'), 'CALCOM_UNAUTHORIZED', false],
    [
      'me.get',
      429,
      shape1('ThrottlerException', 'ThrottlerException: Too Many Requests'),
      'RATE_LIMIT_EXCEEDED',
      true,
    ],
    ['me.get', 500, { statusCode: 500, message: 'Internal server error' }, 'UPSTREAM_UNAVAILABLE', true],
    ['me.get', 503, '<html>bad gateway</html>', 'UPSTREAM_UNAVAILABLE', true],
  ] as const)('%s %i -> %s', (operation, status, body, code, retry) => {
    const mapped = classifyCalcomError(operation, status, parseErrorBody(body));
    expect(mapped.code).toBe(code);
    expect(mapped.retry).toBe(retry);
  });
});

describe('a booking the event type cannot take', () => {
  it('names the field of our API that Cal.com found missing', () => {
    const refused = (slug: string) =>
      classifyCalcomError('bookings.create', 400, {
        message: `responses - {${slug}}error_required_field, `,
        calcomCode: 'BAD_REQUEST',
      });
    expect(refused('email')).toEqual({
      code: 'VALIDATION_FAILED',
      retry: false,
      message: "customer.email: required by the Cal.com event type's booking fields",
    });
    expect(refused('attendeePhoneNumber').message).toMatch(/^customer\.phone: required/);
  });
});

describe("Cal.com's words passed on", () => {
  it('never carry an email or a phone number, whatever Cal.com put in them', () => {
    const refused = classifyCalcomError('bookings.create', 400, {
      message:
        'Invalid attendee phone number +49 151 7777-8888 or 015177778888 for zenobia.quill@example.org',
      calcomCode: 'BAD_REQUEST',
    });
    expect(refused.message).toBe(
      'Cal.com rejected the request: Invalid attendee phone number [phone] or [phone] for [email]',
    );
    // Dates, ids and uids stay readable.
    const kept = 'startTime 2026-12-07T09:00:00.000Z for event type 318552, booking 4hTrP8wWb1Ukq2VxGcZ9sN';
    expect(
      classifyCalcomError('bookings.create', 400, { message: kept, calcomCode: undefined }).message,
    ).toBe(`Cal.com rejected the request: ${kept}`);
  });
});

describe('redaction and fingerprints', () => {
  it('masks emails, phones, names and notes and drops secrets', () => {
    const out = JSON.stringify(
      redact({
        attendee: { name: 'Priya Raman', email: 'priya@example.org', phoneNumber: '+4915112345678' },
        title: 'Haircut between Alex and Priya Raman',
        responses: { notes: 'allergic to ammonia' },
        secret: 'x',
        apiKey: 'cal_live_1',
      }),
    );
    expect(out).not.toContain('priya@');
    expect(out).toContain('p***@example.org');
    expect(out).not.toContain('4915112345678');
    expect(out).not.toContain('Priya');
    expect(out).not.toContain('ammonia');
    expect(out).not.toContain('cal_live_1');
    expect(keyFingerprint('cal_live_1')).toMatch(/^key_[0-9a-f]{12}$/);
  });
});

describe('the client over a misbehaving server', () => {
  let server: Server;
  let base: string;
  const lines: string[] = [];
  const logger = {
    debug: (o: object, m?: string) => lines.push(JSON.stringify({ o, m })),
    info: (o: object, m?: string) => lines.push(JSON.stringify({ o, m })),
    warn: (o: object, m?: string) => lines.push(JSON.stringify({ o, m })),
    error: (o: object, m?: string) => lines.push(JSON.stringify({ o, m })),
  };
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/v2/hang')) return;
      if (req.url?.startsWith('/v2/me')) {
        res.writeHead(429, {
          'content-type': 'application/json',
          'x-ratelimit-limit-default': '120',
          'x-ratelimit-remaining-default': '0',
          'x-ratelimit-reset-default': '42',
        });
        res.end(
          JSON.stringify({
            status: 'error',
            timestamp: 't',
            path: '/v2/me',
            error: { code: 'ThrottlerException', message: 'Too Many Requests' },
          }),
        );
        return;
      }
      if (req.url?.startsWith('/v2/bookings/garbled')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'success', data: { nope: 1 } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: {} }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/v2`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('maps a 429 with its reset header, calls the hooks, and never logs the key', async () => {
    const seen: Array<{ status: number; reset: number | undefined }> = [];
    const client = createCalcomClient({
      baseUrl: base,
      apiKey: 'cal_live_super_secret_key',
      logger,
      debug: true,
      hooks: {
        afterResponse: (ctx) => seen.push({ status: ctx.status, reset: ctx.rateLimit?.resetSeconds }),
      },
    });
    const error = await client.getMe().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      retry: true,
      upstreamStatus: 429,
      details: { retryAfterMs: 42_000 },
    });
    expect(seen).toEqual([{ status: 429, reset: 42 }]);
    expect(client.lastRateLimit).toEqual({ limit: 120, remaining: 0, resetSeconds: 42 });
    expect(lines.join('\n')).not.toContain('cal_live_super_secret_key');
    expect(lines.join('\n')).toContain(keyFingerprint('cal_live_super_secret_key'));
  });

  it('times out as UPSTREAM_TIMEOUT (retryable) and aborts on a signal', async () => {
    const client = createCalcomClient({ baseUrl: `${base}/hang`, apiKey: 'cal_x', logger, timeoutMs: 200 });
    await expect(client.getBooking('x')).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT', retry: true });
    const slow = createCalcomClient({ baseUrl: `${base}/hang`, apiKey: 'cal_x', logger, timeoutMs: 10_000 });
    const started = Date.now();
    await expect(slow.getBooking('x', { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({
      retry: true,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses an answer that does not match the contract, and reports refused connections as retryable', async () => {
    const client = createCalcomClient({ baseUrl: base, apiKey: 'cal_x', logger });
    await expect(client.getBooking('garbled')).rejects.toMatchObject({
      code: 'UPSTREAM_ERROR',
      retry: false,
    });
    const nowhere = createCalcomClient({ baseUrl: 'http://127.0.0.1:1/v2', apiKey: 'cal_x', logger });
    await expect(nowhere.getMe()).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retry: true });
  });

  it('knows an already-cancelled refusal when it sees one', () => {
    const mapped = classifyCalcomError(
      'bookings.cancel',
      400,
      parseErrorBody({ statusCode: 400, message: 'Booking has been cancelled already' }),
    );
    expect(mapped.code).toBe('INVALID_STATE');
    expect(isAlreadyCancelled(new Error('x'))).toBe(false);
  });
});
