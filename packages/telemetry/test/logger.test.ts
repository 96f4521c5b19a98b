import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.ts';

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
