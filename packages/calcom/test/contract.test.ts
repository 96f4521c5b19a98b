import { createServer, type Server } from 'node:http';
import { DEMO_API_KEY, type RunningSandbox, startSandbox } from '@calgate/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCalcomClient } from '../src/index.ts';
import { requestProblems, responseProblems } from './openapi.ts';

interface Exchange {
  method: string;
  path: string;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
  headers: Record<string, string | string[] | undefined>;
}

let sb: RunningSandbox;
let proxy: Server;
let proxyBase: string;
const exchanges: Exchange[] = [];

// A recording proxy between the client and the sandbox: every request the client sends and
// every answer it gets is checked against Cal.com's OpenAPI document.
beforeAll(async () => {
  sb = await startSandbox();
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const upstream = await fetch(`${sb.origin}${req.url}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
        ) as Record<string, string>,
        body: raw === '' ? undefined : raw,
      });
      const text = await upstream.text();
      exchanges.push({
        method: req.method ?? 'GET',
        path: (req.url ?? '').split('?')[0] ?? '',
        requestBody: raw === '' ? undefined : JSON.parse(raw),
        status: upstream.status,
        responseBody: text === '' ? undefined : JSON.parse(text),
        headers: req.headers,
      });
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  proxyBase = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/v2`;
});
afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  await sb.close();
});

const logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Where the OpenAPI document contradicts the contract (docs/calcom-contract.md wins), that check
 * is skipped: webhook `triggers` is typed as one string though its example and Cal.com use an
 * array, and webhook ids as numbers though they are UUID strings; the slots schema describes a
 * map of plain strings while its own example, and Cal.com, send [{start}];
 * GetReservedSlotOutput_2024_09_04 refers to itself as its own `data`.
 */
/**
 * The 2024-06-14 booking field outputs type `isDefault` (every field) and the email field's
 * `required` as objects, though their examples, descriptions ("always true") and Cal.com use
 * booleans: those two booleans are checked as booleans here and the rest of the field as documented.
 */
function withBookingFieldFlagsAsDocumented(body: unknown): unknown {
  const data = (body as { data?: unknown } | undefined)?.data;
  const fix = (eventType: unknown) => {
    const fields = (eventType as { bookingFields?: unknown })?.bookingFields;
    if (!Array.isArray(fields)) return eventType;
    return {
      ...(eventType as object),
      bookingFields: fields.map((field: Record<string, unknown>) => {
        expect(typeof field.isDefault).toBe('boolean');
        const fixed: Record<string, unknown> = { ...field, isDefault: {} };
        if (field.type === 'email') {
          expect(typeof field.required).toBe('boolean');
          fixed.required = {};
        }
        return fixed;
      }),
    };
  };
  if (data === null || typeof data !== 'object') return body;
  return { ...(body as object), data: Array.isArray(data) ? data.map(fix) : fix(data) };
}

function documentBug(exchange: Exchange, side: 'request' | 'response'): boolean {
  if (exchange.path.startsWith('/v2/webhooks')) return true;
  if (side === 'request') return false;
  return (
    exchange.path === '/v2/slots' ||
    (exchange.method === 'GET' && exchange.path.startsWith('/v2/slots/reservations/'))
  );
}

describe('the client against the sandbox, checked against Cal.com OpenAPI', () => {
  it('sends valid requests and parses every answer, for every operation', async () => {
    const client = createCalcomClient({ baseUrl: proxyBase, apiKey: DEMO_API_KEY, logger });
    const me = await client.getMe();
    const eventTypes = await client.listEventTypes({ username: me.username });
    expect(eventTypes.length).toBeGreaterThan(0);
    const day = new Date(Date.now() + 3 * 86_400_000);
    while (day.getUTCDay() === 0 || day.getUTCDay() === 6) day.setUTCDate(day.getUTCDate() + 1);
    const date = day.toISOString().slice(0, 10);
    const slots = await client.getSlots({
      eventTypeId: 102,
      start: date,
      end: date,
      timeZone: 'Europe/Berlin',
    });
    const [first, second, third] = Object.values(slots).flat();
    if (first === undefined || second === undefined || third === undefined) throw new Error('no slots');
    const reservation = await client.reserveSlot({
      eventTypeId: 102,
      slotStart: new Date(third.start).toISOString(),
    });
    await client.getReservation(reservation.reservationUid);
    await client.deleteReservation(reservation.reservationUid);
    const booking = await client.createBooking({
      start: new Date(first.start).toISOString(),
      eventTypeId: 102,
      attendee: {
        name: 'Ada',
        email: 'ada@example.org',
        timeZone: 'Europe/Berlin',
        phoneNumber: '+4915112345678',
        language: 'de',
      },
      bookingFieldsResponses: { notes: 'Allergic to ammonia' },
      metadata: { calgateId: 'apt_contract' },
    });
    expect(booking.description).toBe('Allergic to ammonia');
    expect(booking.metadata).toEqual({ calgateId: 'apt_contract' });
    await client.getBooking(booking.uid);
    const listed = await client.listBookings({
      attendeeEmail: 'ada@example.org',
      eventTypeIds: [102],
      take: 10,
    });
    expect(listed.bookings.map((b) => b.uid)).toContain(booking.uid);
    const moved = await client.rescheduleBooking(booking.uid, {
      start: new Date(second.start).toISOString(),
      reschedulingReason: 'x',
    });
    await client.cancelBooking(moved.uid, { cancellationReason: 'contract test' });
    const created = await client.createEventType({
      title: 'Contract',
      slug: 'contract-test',
      lengthInMinutes: 20,
      hidden: true,
      locations: [{ type: 'address', address: 'Main St 1', public: true }],
    });
    expect(created.slug).toBe('contract-test');
    // An event type that takes phone-only bookings, and such a booking.
    const phoneOnly = await client.createEventType({
      title: 'Phone only',
      slug: 'contract-phone-only',
      lengthInMinutes: 30,
      hidden: true,
      bookingFields: [
        { type: 'email', label: 'Email', placeholder: '', required: false, hidden: true },
        {
          type: 'phone',
          slug: 'attendeePhoneNumber',
          label: 'Phone',
          placeholder: '',
          required: true,
          hidden: false,
        },
      ],
    });
    const phoneSlots = await client.getSlots({
      eventTypeId: phoneOnly.id,
      start: date,
      end: date,
      timeZone: 'Europe/Berlin',
    });
    const phoneSlot = Object.values(phoneSlots).flat()[5];
    if (phoneSlot === undefined) throw new Error('no slot for the phone-only event type');
    const phoneBooking = await client.createBooking({
      start: new Date(phoneSlot.start).toISOString(),
      eventTypeId: phoneOnly.id,
      attendee: { name: 'Bo', timeZone: 'Europe/Berlin', phoneNumber: '+4915112345679', language: 'pt-BR' },
    });
    expect(phoneBooking.attendees[0]).toMatchObject({ phoneNumber: '+4915112345679', language: 'pt-BR' });
    const hook = await client.createWebhook({
      subscriberUrl: 'http://127.0.0.1:1/hook',
      triggers: ['BOOKING_CREATED'],
      active: true,
      secret: 's3cret-s3cret',
    });
    await client.listWebhooks();
    await client.updateWebhook(hook.id, { active: false });
    await client.deleteWebhook(hook.id);

    expect(exchanges.length).toBe(19);
    for (const exchange of exchanges) {
      const label = `${exchange.method} ${exchange.path}`;
      expect(exchange.status, label).toBeLessThan(300);
      if (!documentBug(exchange, 'request')) {
        expect(
          requestProblems(exchange.method, exchange.path, exchange.requestBody),
          `${label} request`,
        ).toEqual([]);
      }
      if (!documentBug(exchange, 'response')) {
        const problems = responseProblems(
          exchange.method,
          exchange.path,
          exchange.status,
          exchange.path.startsWith('/v2/event-types')
            ? withBookingFieldFlagsAsDocumented(exchange.responseBody)
            : exchange.responseBody,
        );
        expect(problems, `${label} response`).toEqual([]);
      }
    }
  });

  it('sends the right cal-api-version per family and the key as a Bearer token', () => {
    const versionOf = (prefix: string) =>
      exchanges.find((e) => e.path.startsWith(prefix))?.headers['cal-api-version'];
    expect(versionOf('/v2/slots')).toBe('2024-09-04');
    expect(versionOf('/v2/bookings')).toBe('2024-08-13');
    expect(versionOf('/v2/event-types')).toBe('2024-06-14');
    expect(versionOf('/v2/webhooks')).toBeUndefined();
    expect(exchanges.every((e) => e.headers.authorization === `Bearer ${DEMO_API_KEY}`)).toBe(true);
  });

  it('refuses to send booking fields Cal.com would reject', async () => {
    const client = createCalcomClient({ baseUrl: proxyBase, apiKey: DEMO_API_KEY, logger });
    const before = exchanges.length;
    await expect(
      client.createBooking({
        start: new Date().toISOString(),
        eventTypeId: 102,
        attendee: { name: 'A', email: 'a@b.co', timeZone: 'UTC' },
        end: 'x',
      } as never),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', retry: false });
    await expect(
      client.createBooking({
        start: new Date().toISOString(),
        eventTypeId: 102,
        attendee: { name: 'A', email: 'a@b.co', timeZone: 'UTC' },
        metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
      }),
    ).rejects.toThrow();
    expect(exchanges.length).toBe(before);
  });
});
