import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more workers only make real-time tests (deadlines, retries) flaky.
    maxWorkers: 2,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
  },
});
