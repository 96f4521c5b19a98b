import { appointments } from '@calgate/db';
import { reconcileBookings } from '@calgate/domain';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berlin, type Gateway, HAIRCUT, startGateway, testDays } from './support/gateway.ts';

let gw: Gateway;
beforeAll(async () => {
  // No listener, no worker: only the reconciliation sees Cal.com's changes.
  gw = await startGateway({ worker: false });
});
afterAll(async () => {
  await gw.close();
});

const times = Array.from({ length: 18 }, (_, i) => {
  const minutes = 9 * 60 + i * 30;
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
});

describe('reconciliation over a list that changes while it pages', () => {
  it('applies every booking changed since its cursor, one changed in Cal.com mid-run included', async () => {
    const control = gw.sandbox.control;
    const made: string[] = [];
    for (const day of testDays(3)) {
      for (const time of times) {
        for (const eventTypeId of [HAIRCUT.alex, HAIRCUT.billie]) {
          made.push(
            control.createBookingDirect({
              eventTypeId,
              start: berlin(day, time),
              attendee: {
                name: 'Walk In',
                email: `walk-in-${made.length}@example.org`,
                timeZone: 'Europe/Berlin',
              },
            }).uid,
          );
        }
      }
    }
    // Made over the last half hour, one every 15 s, as a busy salon's Cal.com has them.
    const base = Date.now() - 40 * 60_000;
    const live = new Map(control.bookings().map((b) => [b.uid, b]));
    made.forEach((uid, i) => {
      (live.get(uid) as { updatedAt: number }).updatedAt = base + i * 15_000;
    });

    // A booking of the first page is cancelled in Cal.com right after that page was read: read by
    // offset, the next page would start one booking too far, and that booking would be skipped
    // for good (the cursor moves past it).
    const runtime = gw.runtime();
    let calls = 0;
    const deps = {
      ...runtime,
      calcom: {
        ...runtime.calcom,
        forCompany(company: Parameters<typeof runtime.calcom.forCompany>[0]) {
          const inner = runtime.calcom.forCompany(company);
          const client = new Proxy(inner.client, {
            get(target, property, receiver) {
              if (property !== 'listChangedBookings') return Reflect.get(target, property, receiver);
              const list = target.listChangedBookings.bind(target);
              return async (query: Parameters<typeof list>[0], options?: Parameters<typeof list>[1]) => {
                const page = await list(query, options);
                if (calls++ === 0) control.cancelBookingDirect(made[5] as string, 'Called the salon');
                return page;
              };
            },
          });
          return { ...inner, client };
        },
      },
    };
    const first = await reconcileBookings(deps, gw.company.companyId);
    expect(first.complete).toBe(true);
    const rows = await gw.database.db
      .select({ uid: appointments.calcomBookingUid, status: appointments.status })
      .from(appointments)
      .where(inArray(appointments.calcomBookingUid, made));
    const recorded = new Set(rows.map((r) => r.uid));
    expect(made.filter((uid) => !recorded.has(uid))).toEqual([]);
    expect(rows.find((r) => r.uid === made[5])?.status).toBe('cancelled');
    // Every booking read once, the cancelled one again (its change made it newer): none twice.
    expect(first.seen).toBe(made.length + 1);
  });
});
