import { defineConfig } from 'vitest/config';

// `pnpm test:reliability`: the scenarios of tests/reliability, one file at a time (they start
// their own processes, Redis and PostgreSQL instances and load the machine on purpose).
export default defineConfig({
  test: {
    root: 'tests',
    include: ['reliability/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
