/**
 * Bundles a test entry (a worker, or a script for another engine) with
 * esbuild: the packages come from their sources, through the root tsconfig's
 * paths, as the unit tests use them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Where and how to bundle; by default an ES module for Node in a new temporary folder. */
export interface BundleOptions {
  readonly format?: 'esm' | 'iife';
  readonly platform?: 'node' | 'browser' | 'neutral';
  readonly outfile?: string;
}

/** Bundles `entry` (a path) and returns the bundle's path. */
export async function bundleEntry(entry: string, options: BundleOptions = {}): Promise<string> {
  const outfile = options.outfile ?? join(mkdtempSync(join(tmpdir(), 'ri-sandbox-bundle-')), 'entry.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    format: options.format ?? 'esm',
    platform: options.platform ?? 'node',
    tsconfig: join(root, 'tsconfig.json'),
    target: 'es2022',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}
