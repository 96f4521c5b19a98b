import { demoSeed } from '@calgate/sandbox';
import { formatInZone } from '@calgate/time';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Gateway, startGateway, testDay } from './support/gateway.ts';

const LA = 'America/Los_Angeles';
let gw: Gateway;
let haircut: string;
beforeAll(async () => {
  // The same salon, but in Los Angeles, open 09:00-19:00: UTC midnight falls at 16:00/17:00 local.
  const seed = demoSeed();
  for (const user of seed.users) {
    user.timeZone = LA;
    user.workingHours = { days: [1, 2, 3, 4, 5, 6], startTime: '09:00', endTime: '19:00' };
  }
  gw = await startGateway({ sandbox: { seed } });
  haircut = gw.company.serviceIds[0] as string;
});
afterAll(async () => {
  await gw.close();
});

const availability = (day: string) =>
  gw.app.inject({
    method: 'GET',
    url: `/api/v2/services/${haircut}/availability?start=${day}&end=${day}&timeZone=${LA}`,
    headers: auth(gw.company.token),
  });

describe('a booking right after UTC midnight', () => {
  it('takes away the overlapping slot that starts before UTC midnight', async () => {
    const day = testDay();
    // The local day's UTC midnight (the next UTC day's 00:00) and the slot 15 minutes before it.
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000);
    const booked = formatInZone(next, LA);
    const overlapping = formatInZone(new Date(next.getTime() - 15 * 60_000), LA);
    const before = await availability(day);
    expect(before.statusCode).toBe(200);
    const staffAt = (slots: Array<{ start: string; staff: Array<{ name: string }> }>, at: string) =>
      slots.find((s) => s.start === at)?.staff.map((s) => s.name) ?? [];
    expect(staffAt(before.json().slots, overlapping)).toEqual(['Alex', 'Billie']);
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=10' }),
      payload: {
        serviceId: haircut,
        start: booked,
        timeZone: LA,
        staffId: gw.company.staffIds[0],
        customer: { name: 'A', email: 'utc-midnight@example.org' },
      },
    });
    expect(res.statusCode).toBe(201);
    // Alex is busy from UTC midnight for 30 minutes: the 30-minute haircut 15 minutes before it
    // cannot be Alex's any more (Cal.com no longer offers it).
    const after = await availability(day);
    expect(staffAt(after.json().slots, overlapping)).toEqual(['Billie']);
  });
});
