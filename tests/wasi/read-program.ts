/**
 * A test of the WASI suite read into memory: its module, and its root
 * folder's files by guest path (the folder itself is never written).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Case } from './cases';
import type { SuiteProgram } from './suite-run';

/** Every file under `dir`, by guest path (`/` being `dir`). */
export function filesUnder(
  dir: string,
  base = dir,
  out: Record<string, Uint8Array> = {},
): Record<string, Uint8Array> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) filesUnder(path, base, out);
    else out[`/${relative(base, path)}`] = new Uint8Array(readFileSync(path));
  }
  return out;
}

/** A test as a program in bytes: its module, and its root folder's files read into memory. */
export function programOf(test: Case): SuiteProgram {
  return {
    name: test.name,
    wasm: new Uint8Array(readFileSync(test.wasm)),
    args: test.args,
    env: test.env,
    files: test.root === undefined ? {} : filesUnder(test.root),
    preopenRoot: test.root !== undefined,
  };
}
