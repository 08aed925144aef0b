import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{gateway,providers,policies,test}/**/*.test.ts', 'console/src/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // Each test file runs in its own process: chDB allows one data folder per process.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
