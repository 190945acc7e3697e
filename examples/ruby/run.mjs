#!/usr/bin/env node
// Runs the Ruby example: bundles main.ts with esbuild into dist/ (the packages stay imports, resolved
// to their builds) and runs it. `pnpm run example:ruby [script.rb]`, which builds the packages first.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const outfile = `${here}dist/main.mjs`;
await build({
  entryPoints: [`${here}main.ts`],
  bundle: true,
  packages: 'external',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outfile,
  logLevel: 'error',
});
await import(outfile);
