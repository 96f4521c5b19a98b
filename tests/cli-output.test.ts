import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from './support/gateway.ts';

// `pnpm cli` with LOG_LEVEL=info: text for people on stdout, log lines (JSON) on stderr only.
const CLI_MAIN = fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url));
const run = promisify(execFile);

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ worker: false });
});
afterAll(async () => {
  await gw.close();
});

async function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  // Run from elsewhere, so that no .env of the checkout is read.
  return run(process.execPath, [CLI_MAIN, ...args], {
    cwd: tmpdir(),
    env: { ...process.env, ...gw.env, LOG_LEVEL: 'info' },
  });
}

const jsonLines = (text: string) => text.split('\n').filter((line) => line.trimStart().startsWith('{'));

// Each run starts a Node process that loads the whole CLI: slow on a busy machine.
describe('pnpm cli at LOG_LEVEL=info', { timeout: 90_000 }, () => {
  it('prints only human text on stdout, even with --verbose, whose log lines go to stderr', async () => {
    const { stdout, stderr } = await cli('sync:event-types', '--verbose');
    expect(stdout).toMatch(new RegExp(`\\[1/1\\] ${gw.company.companyId}: \\d+ event types`));
    expect(jsonLines(stdout)).toEqual([]);
    expect(jsonLines(stderr).map((line) => JSON.parse(line).msg)).toContain('event types synced');
  });

  it('writes no log lines below warn without --verbose, and none on its way out', async () => {
    const { stdout, stderr } = await cli('jobs:failed');
    expect(stdout).toBe('0 failed job(s)\n');
    expect(stderr).toBe('');
    // Closing its connections is no warning (a QUIT meeting an ended socket said EPIPE).
    for (const command of [['token:list', '--company', gw.company.companyId], ['appointments:attention']]) {
      const done = await cli(...command);
      expect(done.stderr, command[0]).toBe('');
    }
  });

  it('says on stderr, in words, what a setting will cause', async () => {
    const { stdout, stderr } = await run(process.execPath, [CLI_MAIN, 'jobs:failed'], {
      cwd: tmpdir(),
      env: { ...process.env, ...gw.env, CALCOM_WEBHOOK_SECRET: '' },
    });
    expect(stdout).toBe('0 failed job(s)\n');
    expect(stderr).toMatch(/^warning: CALCOM_WEBHOOK_SECRET is not set: .* answered 401/);
  });

  it('answers with one JSON document with --json', async () => {
    const { stdout } = await cli('sync:event-types', '--json');
    const document = JSON.parse(stdout);
    expect(document.ok).toBe(true);
    expect(document.records).toEqual([
      expect.objectContaining({ companyId: gw.company.companyId, ok: true, eventTypes: expect.any(Number) }),
    ]);
  });

  it('lists failed jobs as records with --json', async () => {
    const { stdout } = await cli('jobs:failed', '--json');
    expect(JSON.parse(stdout)).toEqual({ ok: true, records: [], lines: ['0 failed job(s)'] });
  });
});
