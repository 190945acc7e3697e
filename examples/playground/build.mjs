#!/usr/bin/env node
// Builds the playground into examples/playground/dist/: the page, and its script bundled with esbuild
// (the sandbox in one file; wabt, only needed for the text format, in a chunk loaded on first use).
// `node examples/playground/build.mjs` after `pnpm build`; then serve dist/ with any static file server.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Builds into `outdir` (default `dist/` here) and returns esbuild's metafile. */
export async function buildPlayground(outdir = `${here}dist`) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: [`${here}main.ts`],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    // wabt's Node branch asks for fs, which a browser never reaches.
    external: ['fs'],
    outdir,
    metafile: true,
    logLevel: 'error',
  });
  copyFileSync(`${here}index.html`, `${outdir}/index.html`);
  return result.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const metafile = await buildPlayground();
  for (const [file, { bytes }] of Object.entries(metafile.outputs))
    console.log(`${file}  ${(bytes / 1024).toFixed(1)} KB`);
}
