import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = [
  'core',
  'loader',
  'metering',
  'determinism',
  'snapshot',
  'pressure',
  'sandbox',
  'wasi',
  'worker',
  'test-fixtures',
];

export default defineConfig({
  resolve: {
    // Tests run against the sources, so coverage maps to them and no build is needed between edits.
    alias: Object.fromEntries(
      packages.map((name) => [
        `@ri-sandbox/${name}`,
        fileURLToPath(new URL(`packages/${name}/src/index.ts`, import.meta.url)),
      ]),
    ),
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    // One temporary folder for the run, removed at its end.
    globalSetup: ['tests/support/global-setup.ts'],
    // Hang guards, not speed checks: many tests start processes (tsc, node, Bun, Chromium), which on a
    // machine whose cores are busy elsewhere take many times their usual seconds.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // The JSON report lets .ci/run print a one-line summary of what ran.
    reporters: ['default', ['json', { outputFile: 'coverage/test-results.json' }]],
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/generated/**', '**/index.ts'],
      thresholds: { lines: 90, branches: 85, functions: 90, statements: 90 },
      reporter: ['text-summary', 'text'],
    },
  },
});
