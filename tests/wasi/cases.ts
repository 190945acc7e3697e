/**
 * The tests of the official WASI test suite (see this folder's README): 72
 * programs, each with how to run it and what it must do.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unpackArchive } from '../support/archive';

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
export interface Case {
  /** `language/name`, e.g. `rust/fd_readdir`. */
  readonly name: string;
  /** The program's path. */
  readonly wasm: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The folder to pre-open as the guest's `/` (copied, never written), if the test has one. */
  readonly root: string | undefined;
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

/** Whether `run` is what `test` expects: its exit code, and its output where the test names one. */
export function passes(
  test: Case,
  run: { readonly outcome: string; readonly stdout: string } | undefined,
): boolean {
  return (
    run?.outcome === `exit ${String(test.exitCode)}` && (test.stdout === '' || run.stdout === test.stdout)
  );
}
