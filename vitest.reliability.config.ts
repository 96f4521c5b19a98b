import { defineConfig } from 'vitest/config';

// The scenarios of tests/reliability, one file at a time (they start their own processes, Redis
// and PostgreSQL instances and load the machine on purpose). The outbound outage is a project of
// its own: `scripts/test-reliability.sh` (`pnpm test:reliability`) runs it alongside the others.
const OUTAGE = 'reliability/outbound-outage.test.ts';
const scenarios = { root: 'tests', fileParallelism: false, testTimeout: 300_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    projects: [
      {
        test: { ...scenarios, name: 'reliability', include: ['reliability/**/*.test.ts'], exclude: [OUTAGE] },
      },
      { test: { ...scenarios, name: 'reliability-outage', include: [OUTAGE] } },
    ],
  },
});
