import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { calcomLogger, createLogger, withLogBindings } from '../src/index.ts';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  return { stream, lines };
}

describe('createLogger', () => {
  it('redacts secrets wherever they appear in a log object', async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ name: 'test', destination: stream });
    logger.info(
      {
        apiKey: 'cal_live_abc',
        company: { secret: 'whsec', apiKey: 'cal_live_def' },
        req: { headers: { authorization: 'Bearer x' } },
      },
      'hello',
    );
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('\n');
    expect(text).toContain('hello');
    expect(text).not.toContain('cal_live_abc');
    expect(text).not.toContain('cal_live_def');
    expect(text).not.toContain('whsec');
    expect(text).not.toContain('Bearer x');
    expect(text).toContain('[redacted]');
  });
});

describe('withLogBindings', () => {
  it('adds the bound fields to every line written while the function runs, and only then', async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ name: 'test', destination: stream });
    await withLogBindings({ jobId: 'j1', attempt: 2 }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      logger.info('inside');
      logger.child({ component: 'calcom' }).warn('from a child');
    });
    logger.info('outside');
    await new Promise((resolve) => setImmediate(resolve));
    const parsed = lines.map((line) => JSON.parse(line));
    expect(parsed[0]).toMatchObject({ msg: 'inside', jobId: 'j1', attempt: 2 });
    expect(parsed[1]).toMatchObject({ msg: 'from a child', jobId: 'j1', component: 'calcom' });
    expect(parsed[2].msg).toBe('outside');
    expect(parsed[2]).not.toHaveProperty('jobId');
  });
  it("does not carry one line's own fields into the next line of the same binding", async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ name: 'test', destination: stream });
    withLogBindings({ jobId: 'j2' }, () => {
      logger.info({ operation: 'bookings.create', status: 201 }, 'calcom call');
      logger.info('booking confirmed');
    });
    await new Promise((resolve) => setImmediate(resolve));
    const [call, confirmed] = lines.map((line) => JSON.parse(line));
    expect(call).toMatchObject({ jobId: 'j2', operation: 'bookings.create' });
    expect(confirmed).toMatchObject({ jobId: 'j2', msg: 'booking confirmed' });
    expect(confirmed).not.toHaveProperty('operation');
    expect(confirmed).not.toHaveProperty('status');
  });
});

describe('calcomLogger', () => {
  it('writes debug lines with CALCOM_DEBUG at LOG_LEVEL=info, and not without it', async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ name: 'test', level: 'info', destination: stream });
    calcomLogger(logger, false).debug({ operation: 'a' }, 'calcom request');
    calcomLogger(logger, true).debug({ operation: 'b' }, 'calcom request');
    logger.debug('still hidden');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ operation: 'b', level: 20 }),
    ]);
  });
});
