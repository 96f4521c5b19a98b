import { listFailedJobs, listNeedsAttention, retryFailedJobs } from '@calgate/cli';
import { appointments } from '@calgate/db';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from './support/gateway.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ env: { COMPENSATION_ATTEMPTS: '2' } });
});
afterAll(async () => {
  await gw.close();
});

describe('a compensation that exhausts its attempts', () => {
  it('is flagged, stays visible as a failed job, and an operator retry finishes it', async () => {
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: { statusCode: 400, message: 'User either already has booking at this time or is not available' },
      skip: 1,
      count: 1,
    });
    gw.sandbox.control.injectFault({ operation: 'bookings.cancel', status: 503, count: 1_000 });
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token),
      payload: {
        serviceId: gw.company.serviceIds[2],
        start: berlin(testDay(), '09:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'A', email: 'stuck@example.org' },
      },
    });
    const id = res.json().id as string;
    const row = async () =>
      (await gw.database.db.select().from(appointments).where(eq(appointments.id, id)))[0];
    await eventually(async () => ((await row())?.needsAttention ? true : undefined));
    // Never confirmed with a missing segment, and not yet called failed while a booking is live.
    expect((await row())?.status).toBe('pending');
    const live = () =>
      gw.sandbox.control
        .bookings()
        .filter((b) => b.metadata.calgateAppointmentId === id && b.status === 'accepted');
    expect(live()).toHaveLength(1);

    const lines: string[] = [];
    const connection = new Redis(gw.config.redis.url, { maxRetriesPerRequest: null });
    const context = {
      db: gw.database.db,
      connection,
      prefix: gw.config.redis.queuePrefix,
      out: (l: string) => lines.push(l),
    };
    try {
      expect(await listNeedsAttention(context)).toBe(1);
      // With its company, the Cal.com account to look in; another company's list is empty.
      expect(lines.find((l) => l.startsWith(id))?.split('\t')[1]).toBe(gw.company.companyId);
      expect(await listNeedsAttention(context, 'cmp_another')).toBe(0);
      expect(
        await connection.hget(`${gw.config.redis.queuePrefix}:counters`, 'compensations_exhausted'),
      ).toBe('1');
      expect(await listFailedJobs(context, 'compensation')).toBe(1);
      expect(lines.join('\n')).toContain(`composite-compensate-${id}`);
      gw.sandbox.control.clearFaults();
      expect(await retryFailedJobs(context, { queue: 'compensation' })).toBe(1);
      await eventually(async () => ((await row())?.status === 'failed' ? true : undefined));
      expect(live()).toHaveLength(0);
      expect((await row())?.needsAttention).toBe(false);
    } finally {
      await connection.quit();
    }
  });
});
