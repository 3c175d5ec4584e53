import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Tests bind ephemeral ports on 127.0.0.1; forks keep each file's servers and timers apart.
    pool: 'forks',
  },
});
