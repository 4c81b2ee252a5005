import { defineConfig } from 'vitest/config';

// Integration and e2e tests share one Docker engine and two cores: run files one at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 1_800_000,
    sequence: { concurrent: false },
  },
});
