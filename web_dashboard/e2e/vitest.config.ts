import { defineConfig } from 'vitest/config';

// The browser tests: run by `npm run test:e2e` inside `browser-stack` (see README), which starts
// the whole system and passes its addresses in GADAI_E2E_* variables. One file at a time, in
// order: the steps of a file build on each other like an operator's shift.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['**/*.e2e.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['verbose'],
  },
});
