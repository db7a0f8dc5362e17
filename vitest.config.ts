import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on the shared machines: keep the end-to-end suites from starving each other.
    maxWorkers: 2,
  },
});
