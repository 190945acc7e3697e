/**
 * Command-line entry of the WASI suite (for Bun): `entry <manifest.json>
 * <modules folder>` runs every program in the sandbox, one after another, and
 * prints each run as JSON; a program that throws is recorded, not fatal.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ManifestEntry, fromManifestEntry, moduleFileOf } from './manifest';
import { type SuiteRun, runInSandbox } from './suite-run';

const [manifestPath = '', modules = ''] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ManifestEntry[];
const runs: Record<string, SuiteRun | string> = {};
for (const entry of manifest) {
  try {
    const wasm = new Uint8Array(readFileSync(join(modules, moduleFileOf(entry.name))));
    runs[entry.name] = await runInSandbox(fromManifestEntry(entry, wasm));
  } catch (error) {
    runs[entry.name] = error instanceof Error ? error.message : String(error);
  }
}
console.log(JSON.stringify(runs));
