import type { Options } from 'tsup';

/**
 * The one tsup configuration every `@ri-sandbox/*` package builds with:
 * ESM and CJS bundles of `src/index.ts` plus `.d.ts`/`.d.cts` declarations.
 */
export function packageBuild(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    treeshake: true,
    ...overrides,
  };
}
