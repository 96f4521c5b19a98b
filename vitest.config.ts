import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// One vitest run covers every workspace package and the cross-service tests; each test file gets
// its own database schema and queue prefix (see @calgate/testkit), so files may run in parallel.
// The projects are inline so that they inherit the options below (a project given by its path
// would start from vitest's defaults, a 5 s test timeout among them).
const packageDirs = ['packages', 'services']
  .flatMap((parent) => readdirSync(parent).map((dir) => `${parent}/${dir}`))
  .filter((dir) => existsSync(`${dir}/package.json`));
const nameOf = (dir: string): string =>
  (JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { name: string }).name;

export default defineConfig({
  test: {
    // Generous on purpose: tests wait on events with deadlines of their own (`eventually`), and a
    // loaded 2-core machine must not fail a correct gateway.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    projects: [
      ...packageDirs.map((dir) => ({ extends: true, test: { name: nameOf(dir), root: dir } })),
      {
        extends: true,
        test: {
          name: '@calgate/tests',
          root: 'tests',
          // The reliability suite runs on its own (`pnpm test:reliability`): it is long, and it
          // would compete for the CPU with the other tests.
          exclude: [...configDefaults.exclude, 'reliability/**'],
        },
      },
    ],
  },
});
