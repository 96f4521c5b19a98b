import { configDefaults, defineConfig } from 'vitest/config';

// The reliability suite runs on its own (`pnpm test:reliability`, vitest.reliability.config.ts):
// it is long, and it would compete for the CPU with the timing of the other tests.
export default defineConfig({
  test: {
    exclude: [...configDefaults.exclude, 'reliability/**'],
  },
});
