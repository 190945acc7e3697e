/**
 * The tests of the official WASI test suite (see this folder's README): 72
 * programs, each with how to run it and what it must do.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unpackArchive } from '../support/archive';
import type { WasiTest } from './worker';

const here = fileURLToPath(new URL('.', import.meta.url));
const suite = unpackArchive(join(here, 'wasi-testsuite-9f80ca3.tgz'), 'wasi-testsuite');

interface Expectation {
  readonly args?: string[];
  readonly env?: Record<string, string>;
  readonly root?: string;
  readonly exit_code?: number;
  readonly stdout?: string;
}

/** One test: how to run it, and the exit code and output it must give. */
export interface Case extends WasiTest {
  readonly name: string;
  readonly exitCode: number;
  /** The standard output it must print, or `''` if the test does not say. */
  readonly stdout: string;
}

export const CASES: readonly Case[] = ['rust', 'c', 'assemblyscript'].flatMap((language) => {
  const dir = join(suite, 'tests', language, 'testsuite', 'wasm32-wasip1');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.wasm'))
    .sort()
    .map((file) => {
      const spec = join(dir, file.replace(/\.wasm$/, '.json'));
      const expected: Expectation = existsSync(spec)
        ? (JSON.parse(readFileSync(spec, 'utf8')) as Expectation)
        : {};
      return {
        name: `${language}/${file.replace(/\.wasm$/, '')}`,
        wasm: join(dir, file),
        args: expected.args ?? [],
        env: expected.env ?? {},
        root: expected.root === undefined ? undefined : join(dir, expected.root),
        exitCode: expected.exit_code ?? 0,
        stdout: expected.stdout ?? '',
      };
    });
});
