import { randomUUID } from 'node:crypto';
import { type CalendarProvider, storableId, storedEventTypeId, storedTextId } from '@calgate/calendar';
import { DEMO_API_KEY, type RunningSandbox, startSandbox } from '@calgate/sandbox';
import { testDay } from '@calgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CalcomClient, calcomCalendarProvider, createCalcomClient } from '../src/index.ts';

let sb: RunningSandbox;
let calcom: CalcomClient;
let provider: CalendarProvider;
const logger = { debug() {}, info() {}, warn() {}, error() {} };

beforeAll(async () => {
  sb = await startSandbox();
  calcom = createCalcomClient({ baseUrl: `${sb.origin}/v2`, apiKey: DEMO_API_KEY, logger });
  provider = calcomCalendarProvider(calcom);
});
afterAll(async () => {
  await sb.close();
});

/**
 * Three free starts of the demo event type 102 on a day of this test's own, three hours apart so
 * that bookings at them never overlap.
 */
async function freeStarts(day = testDay()): Promise<string[]> {
  const slots = await provider.getSlots({
    eventTypeId: storedEventTypeId(102),
    start: `${day}T00:00:00.000Z`,
    end: `${day}T23:59:59.000Z`,
    timeZone: 'UTC',
  });
  const starts: string[] = [];
  for (const slot of Object.values(slots).flat()) {
    const at = Date.parse(slot.start);
    if (starts.every((taken) => Math.abs(Date.parse(taken) - at) >= 3 * 3_600_000)) {
      starts.push(new Date(at).toISOString());
    }
  }
  expect(starts.length).toBeGreaterThanOrEqual(3);
  return starts.slice(0, 3);
}

describe('the Cal.com calendar provider', () => {
  it("hands out Cal.com's own ids as provider ids, and takes them back", async () => {
    const me = await provider.getMe();
    const types = await provider.listEventTypes({ username: me.username });
    const type = types.find((t) => storableId(t.id) === 102);
    if (type === undefined) throw new Error('the demo event type 102 is missing');
    const [start] = await freeStarts();
    const email = `ids-${randomUUID().slice(0, 8)}@example.org`;
    const booking = await provider.createBooking({
      start: start as string,
      eventTypeId: type.id,
      attendee: { name: 'Ada', email, timeZone: 'Europe/Berlin' },
    });
    // The same values Cal.com answered: the seam changes types, never what is stored or logged.
    const raw = await calcom.getBooking(booking.uid);
    expect(storableId(booking.id)).toBe(raw.id);
    expect(booking.eventTypeId).toBe(type.id);
    expect(storableId(me.id)).toBe((await calcom.getMe()).id);
    const again = await provider.getBooking(storedTextId(booking.uid));
    expect(again.uid).toBe(booking.uid);
  });

  it('finds live bookings by every metadata entry given, and leaves cancelled ones out', async () => {
    const day = testDay();
    const [first, second, third] = await freeStarts(day);
    const email = `meta-${randomUUID().slice(0, 8)}@example.org`;
    const appointment = `apt_${randomUUID().slice(0, 8)}`;
    const book = (start: string, generation: string) =>
      provider.createBooking({
        start,
        eventTypeId: storedEventTypeId(102),
        attendee: { name: 'Ada', email, timeZone: 'Europe/Berlin' },
        metadata: { calgateAppointment: appointment, calgateGeneration: generation },
      });
    const one = await book(first as string, '1');
    const two = await book(second as string, '2');
    const cancelled = await book(third as string, '2');
    await provider.cancelBooking(cancelled.uid, { cancellationReason: 'test' });
    const window = { from: `${day}T00:00:00.000Z`, to: `${day}T23:59:59.000Z` };
    const find = (metadata: Record<string, string>) =>
      provider.findBookingsByMetadata({
        metadata,
        attendeeEmail: email,
        eventTypeIds: [storedEventTypeId(102)],
        ...window,
      });

    const all = await find({ calgateAppointment: appointment });
    expect(all.map((b) => b.uid).sort()).toEqual([one.uid, two.uid].sort());
    const secondOnly = await find({ calgateAppointment: appointment, calgateGeneration: '2' });
    expect(secondOnly.map((b) => b.uid)).toEqual([two.uid]);
    expect(await find({ calgateAppointment: 'apt_other' })).toEqual([]);
  });

  it('says when a cancel failed because the booking was cancelled already', async () => {
    const [start] = await freeStarts();
    const booking = await provider.createBooking({
      start: start as string,
      eventTypeId: storedEventTypeId(102),
      attendee: { name: 'Ada', email: `twice-${randomUUID().slice(0, 8)}@example.org`, timeZone: 'UTC' },
    });
    await provider.cancelBooking(booking.uid, { cancellationReason: 'first' });
    const error = await provider.cancelBooking(booking.uid, { cancellationReason: 'second' }).catch((e) => e);
    expect(provider.isAlreadyCancelled(error)).toBe(true);
    expect(provider.isAlreadyCancelled(new Error('something else'))).toBe(false);
  });

  it('lists the bookings changed since an instant, a page at a time', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const [start] = await freeStarts();
    const booking = await provider.createBooking({
      start: start as string,
      eventTypeId: storedEventTypeId(102),
      attendee: { name: 'Ada', email: `changed-${randomUUID().slice(0, 8)}@example.org`, timeZone: 'UTC' },
    });
    const page = await provider.listChangedBookings({
      updatedAfter: since,
      eventTypeIds: [storedEventTypeId(102)],
      take: 100,
      skip: 0,
    });
    expect(page.bookings.map((b) => b.uid)).toContain(booking.uid);
    expect(page.totalItems).toBeGreaterThanOrEqual(page.bookings.length);
    expect(typeof page.hasNextPage).toBe('boolean');
  });
});
