import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { DEMO_API_KEY, type RunningSandbox, startSandbox } from '@calgate/sandbox';
import { salonTime, testDay } from '@calgate/testkit';
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
// every answer it gets is checked against Cal.com's OpenAPI document (as the contract corrects it).
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
const client = () => createCalcomClient({ baseUrl: proxyBase, apiKey: DEMO_API_KEY, logger });

/** The exchanges that went through the proxy while `run` ran (tests run one at a time). */
async function recorded(run: () => Promise<void>): Promise<Exchange[]> {
  const from = exchanges.length;
  await run();
  return exchanges.slice(from);
}

/**
 * Every exchange against Cal.com's OpenAPI document, with the corrections the contract makes to
 * it (see CORRECTIONS in ./openapi.ts): no exchange is exempt.
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

function expectConforming(list: Exchange[]): void {
  for (const exchange of list) {
    const label = `${exchange.method} ${exchange.path}`;
    expect(exchange.status, label).toBeLessThan(300);
    expect(requestProblems(exchange.method, exchange.path, exchange.requestBody), `${label} request`).toEqual(
      [],
    );
    expect(
      responseProblems(
        exchange.method,
        exchange.path,
        exchange.status,
        exchange.path.startsWith('/v2/event-types')
          ? withBookingFieldFlagsAsDocumented(exchange.responseBody)
          : exchange.responseBody,
      ),
      `${label} response`,
    ).toEqual([]);
  }
}

describe('the client against the sandbox, checked against Cal.com OpenAPI', () => {
  it('sends valid requests and parses every answer, for every operation', async () => {
    const day = testDay();
    // Names of its own, so that the test may run again against the same sandbox.
    const unique = randomUUID().slice(0, 8);
    const list = await recorded(async () => {
      const calcom = client();
      const me = await calcom.getMe();
      const eventTypes = await calcom.listEventTypes({ username: me.username });
      expect(eventTypes.length).toBeGreaterThan(0);
      const slots = await calcom.getSlots({
        eventTypeId: 102,
        start: day,
        end: day,
        timeZone: 'Europe/Berlin',
      });
      const [first, second, third] = Object.values(slots).flat();
      if (first === undefined || second === undefined || third === undefined) throw new Error('no slots');
      const reservation = await calcom.reserveSlot({
        eventTypeId: 102,
        slotStart: new Date(third.start).toISOString(),
      });
      await calcom.getReservation(reservation.reservationUid);
      await calcom.deleteReservation(reservation.reservationUid);
      const booking = await calcom.createBooking({
        start: new Date(first.start).toISOString(),
        eventTypeId: 102,
        attendee: {
          name: 'Ada',
          email: `ada-${unique}@example.org`,
          timeZone: 'Europe/Berlin',
          phoneNumber: '+4915112345678',
          language: 'de',
        },
        bookingFieldsResponses: { notes: 'Allergic to ammonia' },
        metadata: { calgateId: 'apt_contract' },
      });
      expect(booking.description).toBe('Allergic to ammonia');
      expect(booking.metadata).toEqual({ calgateId: 'apt_contract' });
      await calcom.getBooking(booking.uid);
      const listed = await calcom.listBookings({
        attendeeEmail: `ada-${unique}@example.org`,
        eventTypeIds: [102],
        take: 10,
      });
      expect(listed.bookings.map((b) => b.uid)).toEqual([booking.uid]);
      const moved = await calcom.rescheduleBooking(booking.uid, {
        start: new Date(second.start).toISOString(),
        reschedulingReason: 'x',
      });
      await calcom.cancelBooking(moved.uid, { cancellationReason: 'contract test' });
      const created = await calcom.createEventType({
        title: 'Contract',
        slug: `contract-test-${unique}`,
        lengthInMinutes: 20,
        hidden: true,
        locations: [{ type: 'address', address: 'Main St 1', public: true }],
      });
      expect(created.slug).toBe(`contract-test-${unique}`);
      // An event type that takes phone-only bookings, and such a booking.
      const phoneOnly = await calcom.createEventType({
        title: 'Phone only',
        slug: `contract-phone-only-${unique}`,
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
      const phoneSlots = await calcom.getSlots({
        eventTypeId: phoneOnly.id,
        start: day,
        end: day,
        timeZone: 'Europe/Berlin',
      });
      const phoneSlot = Object.values(phoneSlots).flat()[5];
      if (phoneSlot === undefined) throw new Error('no slot for the phone-only event type');
      const phoneBooking = await calcom.createBooking({
        start: new Date(phoneSlot.start).toISOString(),
        eventTypeId: phoneOnly.id,
        attendee: { name: 'Bo', timeZone: 'Europe/Berlin', phoneNumber: '+4915112345679', language: 'pt-BR' },
      });
      expect(phoneBooking.attendees[0]).toMatchObject({ phoneNumber: '+4915112345679', language: 'pt-BR' });
      const hook = await calcom.createWebhook({
        subscriberUrl: `http://127.0.0.1:1/hook-${unique}`,
        triggers: ['BOOKING_CREATED'],
        active: true,
        secret: 's3cret-s3cret',
      });
      await calcom.listWebhooks();
      await calcom.updateWebhook(hook.id, { active: false });
      await calcom.deleteWebhook(hook.id);
    });

    expect(list.length).toBe(19);
    expect(list.filter((e) => e.path.startsWith('/v2/webhooks'))).toHaveLength(4);
    expectConforming(list);
  });

  it('gets slots as Cal.com answers them: per local date, each start in the zone and offset asked for', async () => {
    const day = testDay();
    const list = await recorded(async () => {
      const slots = await client().getSlots({
        eventTypeId: 102,
        start: day,
        end: day,
        timeZone: 'Europe/Berlin',
      });
      expect(Object.keys(slots)).toEqual([day]);
    });
    expect(list).toHaveLength(1);
    expectConforming(list);
    const answer = list[0]?.responseBody as { data: Record<string, Array<{ start: string }>> };
    const starts = answer.data[day]?.map((slot) => slot.start) ?? [];
    // The salon opens 09:00 and takes its last 30-minute haircut at 17:30, local time.
    expect(Date.parse(starts[0] as string)).toBe(Date.parse(salonTime(day, '09:00')));
    expect(Date.parse(starts.at(-1) as string)).toBe(Date.parse(salonTime(day, '17:30')));
    const offset = salonTime(day, '09:00').slice(-6);
    for (const start of starts) {
      expect(start.startsWith(day), start).toBe(true);
      expect(start.endsWith(offset), start).toBe(true);
    }
  });

  it('sends the right cal-api-version per family and the key as a Bearer token', async () => {
    const day = testDay();
    const list = await recorded(async () => {
      const calcom = client();
      await calcom.getMe();
      await calcom.getSlots({ eventTypeId: 102, start: day, end: day, timeZone: 'Europe/Berlin' });
      await calcom.listBookings({ eventTypeIds: [102], take: 1 });
      await calcom.listEventTypes({ username: 'demo-salon' });
      await calcom.listWebhooks();
    });
    const versionOf = (prefix: string) =>
      list.find((e) => e.path.startsWith(prefix))?.headers['cal-api-version'];
    expect(versionOf('/v2/slots')).toBe('2024-09-04');
    expect(versionOf('/v2/bookings')).toBe('2024-08-13');
    expect(versionOf('/v2/event-types')).toBe('2024-06-14');
    expect(list.some((e) => e.path.startsWith('/v2/webhooks'))).toBe(true);
    expect(versionOf('/v2/webhooks')).toBeUndefined();
    expect(list.every((e) => e.headers.authorization === `Bearer ${DEMO_API_KEY}`)).toBe(true);
    expectConforming(list);
  });

  it('checks webhook and slot exchanges for real: shapes the contract rules out are reported', () => {
    const hook = {
      id: '0f8fad5b-d9cb-469f-a165-70867728950e',
      userId: 1,
      payloadTemplate: null,
      triggers: ['BOOKING_CREATED'],
      subscriberUrl: 'https://example.org/hook',
      active: true,
    };
    const ok = (body: unknown) => responseProblems('GET', '/v2/webhooks/x', 200, body);
    expect(ok({ status: 'success', data: hook })).toEqual([]);
    expect(ok({ status: 'success', data: { ...hook, id: 12 } })).not.toEqual([]);
    expect(ok({ status: 'success', data: { ...hook, triggers: 'BOOKING_CREATED' } })).not.toEqual([]);
    expect(ok({ status: 'success', data: { ...hook, triggers: ['booking.created'] } })).not.toEqual([]);
    expect(
      requestProblems('POST', '/v2/webhooks', {
        subscriberUrl: 'https://x',
        active: true,
        triggers: 'BOOKING_CREATED',
      }),
    ).not.toEqual([]);

    const slots = (data: unknown) => responseProblems('GET', '/v2/slots', 200, { status: 'success', data });
    expect(slots({ '2050-09-05': [{ start: '2050-09-05T09:00:00.000+02:00' }] })).toEqual([]);
    expect(slots({ '2050-09-05': ['2050-09-05T09:00:00.000+02:00'] })).not.toEqual([]);
    expect(slots({ 'not-a-date': [{ start: '2050-09-05T09:00:00.000+02:00' }] })).not.toEqual([]);
    expect(responseProblems('GET', '/v2/slots', 200, { '2050-09-05': [] })).not.toEqual([]);

    const reservation = (data: unknown) =>
      responseProblems('GET', '/v2/slots/reservations/r1', 200, { status: 'success', data });
    expect(reservation(null)).toEqual([]);
    expect(reservation({ status: 'success', data: null })).not.toEqual([]);
  });

  it('refuses to send booking fields Cal.com would reject', async () => {
    const calcom = client();
    const before = exchanges.length;
    await expect(
      calcom.createBooking({
        start: new Date().toISOString(),
        eventTypeId: 102,
        attendee: { name: 'A', email: 'a@b.co', timeZone: 'UTC' },
        end: 'x',
      } as never),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', retry: false });
    await expect(
      calcom.createBooking({
        start: new Date().toISOString(),
        eventTypeId: 102,
        attendee: { name: 'A', email: 'a@b.co', timeZone: 'UTC' },
        metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
      }),
    ).rejects.toThrow();
    expect(exchanges.length).toBe(before);
  });
});
