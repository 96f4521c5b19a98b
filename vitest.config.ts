import { defineConfig } from 'vitest/config';

// One vitest run covers every workspace project; each test file gets its own database
// schema and queue prefix (see @calgate/testkit), so files may run in parallel.
export default defineConfig({
  test: {
    projects: ['packages/*', 'services/*', 'tests'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
