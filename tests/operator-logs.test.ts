import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from './support/gateway.ts';

// What an operator reads at LOG_LEVEL=info when things go wrong: one line per outcome, with the
// error's code instead of a stack trace, and the job's fields on every line.
interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}

let gw: Gateway;
const lines: Line[] = [];
beforeAll(async () => {
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  gw = await startGateway({ logDestination: stream, env: { LOG_LEVEL: 'info', CALCOM_MAX_RETRIES: '1' } });
});
afterAll(async () => {
  await gw.close();
});

async function book(serviceId: string, start: string, email: string, staffId?: string): Promise<string> {
  const response = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token),
    payload: {
      serviceId,
      start,
      timeZone: 'Europe/Berlin',
      ...(staffId === undefined ? {} : { staffId }),
      customer: { name: 'Dana Wolf', email },
    },
  });
  expect(response.statusCode).toBe(202);
  return response.json().id;
}

const about = (id: string) => lines.filter((line) => line.appointmentId === id);
const noStacks = (of: Line[]) =>
  of.filter((line) => JSON.stringify(line).includes('"stack"')).map((line) => line.msg);

describe('at LOG_LEVEL=info, a booking that Cal.com keeps failing', () => {
  it('logs each retried attempt and the failure with its code, and no stack trace', async () => {
    gw.sandbox.control.injectFault({ operation: 'bookings.create', status: 503, count: 2 });
    const id = await book(
      gw.company.serviceIds[0] as string,
      berlin(testDay(), '10:00'),
      'dana@example.org',
      gw.company.staffIds[0],
    );
    await eventually(
      async () => (about(id).some((l) => l.msg === 'booking failed') ? true : undefined),
      30_000,
    );
    const worker = about(id).filter((l) => l.queue === 'bookings');
    expect(worker.map((l) => [l.msg, l.code, l.attempt])).toEqual(
      expect.arrayContaining([
        ['job attempt failed, will retry', 'UPSTREAM_UNAVAILABLE', 1],
        ['booking failed', 'UPSTREAM_UNAVAILABLE', 2],
      ]),
    );
    for (const line of worker) expect(line.jobId).toBe(`booking-create-${id}`);
    expect(noStacks(about(id))).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('Dana');
  });
});

describe('at LOG_LEVEL=info, a composite whose first segment is taken', () => {
  it('logs the failed segment and the compensation that cancelled the booked one', async () => {
    // Segments are booked last first: let the last through, take the first.
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: { statusCode: 400, message: 'User either already has booking at this time or is not available' },
      skip: 1,
      count: 1,
    });
    const id = await book(gw.company.serviceIds[2] as string, berlin(testDay(), '09:00'), 'erin@example.org');
    await eventually(
      async () => (about(id).some((l) => l.msg === 'compensation done') ? true : undefined),
      30_000,
    );
    expect(about(id).find((l) => l.msg === 'composite segment failed: compensating')).toMatchObject({
      level: 30,
      queue: 'composite',
      segment: 1,
      code: 'SLOT_UNAVAILABLE',
    });
    expect(about(id).find((l) => l.msg === 'compensation done')).toMatchObject({
      queue: 'compensation',
      purpose: 'failed',
      cancelled: 1,
    });
    expect(noStacks(about(id))).toEqual([]);
  });
});
