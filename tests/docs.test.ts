import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '@calgate/errors';
import { describe, expect, it } from 'vitest';

// The README and the troubleshooting guide against the code they describe, so they cannot drift.
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const README = read('README.md');
const TROUBLESHOOTING = read('docs/troubleshooting.md');
const CLI_MAIN = fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url));

/** The rows of the markdown table that follows `marker`. */
function tableAfter(text: string, marker: string): string[][] {
  const start = text.indexOf(marker);
  expect(start, `no "${marker}" in the document`).toBeGreaterThan(-1);
  const rows: string[][] = [];
  for (const line of text.slice(start).split('\n').slice(1)) {
    const row = line.trim();
    if (!row.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    if (/^\|[-| ]+\|$/.test(row)) continue;
    rows.push(
      row
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
  }
  return rows.slice(1);
}

const usage = execFileSync(process.execPath, [CLI_MAIN, '--help'], { cwd: tmpdir() }).toString();
/** Command name -> its line(s) in the usage text. */
const usageCommands = new Map(
  [...usage.matchAll(/^ {2}([a-z]+(?::[a-z-]+)?)\b(.*)$/gm)]
    .filter((m) => !(m[1] as string).startsWith('-'))
    .map((m) => [m[1] as string, m[0]]),
);

describe('the README', () => {
  it('lists every error code of @calgate/errors with its status, and no other', () => {
    const listed = new Map<string, number>();
    for (const [codes, status] of tableAfter(README, 'test keeps this table and that set equal')) {
      for (const code of (codes as string).matchAll(/`([A-Z_]+)`/g))
        listed.set(code[1] as string, Number(status));
    }
    expect(Object.fromEntries(listed)).toEqual(ERROR_CODES);
  });

  it('lists every CLI command of the usage text, with the options the usage gives it', () => {
    const rows = tableAfter(README, 'A test keeps this table and `pnpm cli --help` in step');
    const documented = new Map<string, string>();
    for (const [cell] of rows) {
      for (const part of (cell as string).split(/`\s*\/\s*`/)) {
        const text = part.replaceAll('`', '').replaceAll('\\|', '|').trim();
        documented.set(text.split(' ')[0] as string, text);
      }
    }
    expect([...documented.keys()].sort()).toEqual([...usageCommands.keys()].sort());
    for (const [name, text] of documented) {
      const options = [...text.matchAll(/--[a-z-]+/g)].map((m) => m[0]);
      const line = usage
        .slice(usage.indexOf(usageCommands.get(name) as string))
        .split('\n')
        .slice(0, 2)
        .join(' ');
      for (const option of options) expect(line, `${name} ${option}`).toContain(option);
    }
  });

  it('names only real CLI commands, here and in the troubleshooting guide', () => {
    for (const text of [README, TROUBLESHOOTING]) {
      const named = [...text.matchAll(/pnpm cli ([a-z]+:[a-z-]+|reconcile)\b/g)].map((m) => m[1] as string);
      expect(named.filter((name) => !usageCommands.has(name))).toEqual([]);
    }
  });
});

describe('docs/troubleshooting.md', () => {
  it("covers the original design's cases and names an error code, a log line or metric, and a fix for each", () => {
    const sections = TROUBLESHOOTING.split(/^## /m).slice(1);
    for (const topic of [/slot/i, /time.zone/i, /composite/i, /429/, /debug/i]) {
      expect(
        sections.some((s) => topic.test(s.split('\n')[0] as string)),
        String(topic),
      ).toBe(true);
    }
    for (const section of sections) {
      const title = section.split('\n')[0];
      expect(section, title).toMatch(/\*\*Symptom/);
      expect(section, title).toMatch(/\*\*Cause/);
      expect(section, title).toMatch(/\*\*Fix/);
    }
  });

  it('quotes only error codes that exist', () => {
    const quoted = [...TROUBLESHOOTING.matchAll(/`([A-Z][A-Z_]{4,})`/g)].map((m) => m[1] as string);
    const variables =
      /^(CALCOM|LOG|DATABASE|REDIS|QUEUE|WORKER|SWEEP|COMPENSATION|AVAILABILITY|EVENT|RECONCILE|HEALTH|ADMIN|PUBLIC|SECRETS|BODY|NODE|OTEL)_/;
    const codes = quoted.filter((name) => !variables.test(name) || name in ERROR_CODES);
    expect(codes.filter((code) => !(code in ERROR_CODES))).toEqual([]);
  });
});
