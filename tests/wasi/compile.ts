/**
 * Compiles the C programs in `programs/` for wasm32-wasi with Debian's
 * clang-14 and wasi-libc (`scripts/setup-engines.mjs` installs them; set
 * `RI_SANDBOX_CLANG` to use another clang), each once per test process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sources = fileURLToPath(new URL('programs', import.meta.url));
const CLANG = process.env['RI_SANDBOX_CLANG'] ?? 'clang-14';

/** The programs' names (their file names without `.c`). */
export const PROGRAMS = readdirSync(sources)
  .filter((file) => file.endsWith('.c'))
  .map((file) => file.slice(0, -2));

let compiled: Promise<Record<string, Uint8Array<ArrayBuffer>>> | undefined;

async function compile(name: string, into: string): Promise<Uint8Array<ArrayBuffer>> {
  const out = join(into, `${name}.wasm`);
  try {
    await run(CLANG, [
      '--target=wasm32-wasi',
      '-O2',
      '-Wl,--strip-debug',
      '-o',
      out,
      join(sources, `${name}.c`),
    ]);
  } catch (error) {
    throw new Error(
      `cannot compile ${name}.c with ${CLANG} (scripts/setup-engines.mjs installs Debian's clang-14, lld-14, ` +
        `wasi-libc and libclang-rt-14-dev-wasm32 when run as root): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return new Uint8Array(readFileSync(out));
}

/** Every program, compiled: name to module bytes. */
export function compilePrograms(): Promise<Record<string, Uint8Array<ArrayBuffer>>> {
  compiled ??= (async () => {
    const into = mkdtempSync(join(tmpdir(), 'ri-sandbox-wasi-programs-'));
    const modules = await Promise.all(PROGRAMS.map((name) => compile(name, into)));
    return Object.fromEntries(PROGRAMS.map((name, i) => [name, modules[i] as Uint8Array<ArrayBuffer>]));
  })();
  return compiled;
}
