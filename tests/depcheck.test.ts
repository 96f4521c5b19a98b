import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// `pnpm depcheck` (dependency-cruiser, run by CI after lint) against the repository and against a
// small tree that breaks each rule once, so a rule that silently stops matching fails here.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** The violations depcruise reports for `paths` under `cwd` (it exits non-zero when there are any). */
function violations(cwd: string, paths: string[]): Violation[] {
  let out: string;
  try {
    out = execFileSync(DEPCRUISE, ['--config', CONFIG, '--output-type', 'json', ...paths], {
      cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    out = String((error as { stdout?: unknown }).stdout ?? '');
  }
  return (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
}

const scratch = mkdtempSync(join(tmpdir(), 'depcheck-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function file(path: string, text: string): void {
  const full = join(scratch, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, text);
}

describe('the dependency check', () => {
  it('finds nothing to object to in the repository', () => {
    expect(violations(ROOT, ['packages', 'services'])).toEqual([]);
  });

  it('fails on an import circle (reported once), a package importing a service, a layer imported upwards', () => {
    file('packages/x/src/one.ts', "import { two } from './two.ts';\nexport const one = () => two();\n");
    file(
      'packages/x/src/two.ts',
      "import { one } from './one.ts';\nexport const two = (): unknown => one;\n",
    );
    file('services/api/src/host.ts', 'export const host = 1;\n');
    file(
      'packages/x/src/reach.ts',
      "import { host } from '../../../services/api/src/host.ts';\nexport { host };\n",
    );
    file('packages/domain/src/bookings/job.ts', 'export const job = 1;\n');
    file(
      'packages/domain/src/appointments/core.ts',
      "import { job } from '../bookings/job.ts';\nexport { job };\n",
    );
    file('packages/domain/src/appointments/view.ts', 'export const view = 1;\n');
    file(
      'packages/domain/src/availability/read.ts',
      "import { view } from '../appointments/view.ts';\nexport { view };\n",
    );
    file('packages/domain/src/services/catalog.ts', 'export const catalog = 1;\n');
    file(
      'packages/domain/src/accounts/company.ts',
      "import { catalog } from '../services/catalog.ts';\nexport { catalog };\n",
    );

    const found = violations(scratch, ['packages', 'services']).map((v) => `${v.rule.name} ${v.from}`);
    expect(found.sort()).toEqual(
      [
        'accounts-at-the-bottom packages/domain/src/accounts/company.ts',
        'appointments-below-the-flows packages/domain/src/appointments/core.ts',
        'availability-and-catalog-below-appointments packages/domain/src/availability/read.ts',
        'no-circular packages/x/src/one.ts',
        'packages-not-to-services packages/x/src/reach.ts',
      ].sort(),
    );
  });
});
