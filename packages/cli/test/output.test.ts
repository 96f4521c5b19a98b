import { describe, expect, it } from 'vitest';
import { createOutput } from '../src/output.ts';

function run(json: boolean, command: (output: ReturnType<typeof createOutput>) => void, ok = true) {
  let written = '';
  const output = createOutput({ json, write: (text) => (written += text) });
  command(output);
  output.finish({ ok });
  return written;
}

describe('the CLI output', () => {
  it('writes lines for people and nothing else', () => {
    const text = run(false, (o) => {
      o.out('2 failed job(s)');
      o.record({ id: 'j1' });
    });
    expect(text).toBe('2 failed job(s)\n');
  });

  it('with --json writes one document with the records, for scripts', () => {
    const text = run(true, (o) => {
      o.out('1 failed job(s)');
      o.record({ queue: 'bookings', id: 'j1' });
    });
    expect(JSON.parse(text)).toEqual({
      ok: true,
      records: [{ queue: 'bookings', id: 'j1' }],
      lines: ['1 failed job(s)'],
    });
    expect(text.trim().split('\n')).toHaveLength(1);
  });

  it('with --json keeps the lines of a command without records, and says when it failed', () => {
    const text = run(true, (o) => o.out('done'), false);
    expect(JSON.parse(text)).toEqual({ ok: false, records: [], lines: ['done'] });
  });
});
