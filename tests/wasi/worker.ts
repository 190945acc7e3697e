/**
 * Runs one test of the WASI test suite as a command, with `@ri-sandbox/wasi`
 * on a plain WebAssembly instance, and posts what it did: exit code, stdout,
 * stderr.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Wasi, WasiExit } from '@ri-sandbox/wasi';

/** One test: the `.wasm`, and what its `.json` says about how to run it. */
export interface WasiTest {
  readonly wasm: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The folder to pre-open as the guest's `/`, copied. */
  readonly root: string | undefined;
}

/** What a run did. */
export interface WasiRun {
  /** The exit code, or `undefined` if the guest trapped. */
  readonly exitCode: number | undefined;
  /** The trap's message, if it trapped (a Rust panic, say: its message is on stderr). */
  readonly trap: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** Every file under `dir`, by guest path. */
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

async function run(test: WasiTest): Promise<WasiRun> {
  const name = test.wasm.split('/').pop() as string;
  // A realtime clock that starts in this century, as the sandbox's eventTimestamp does (the tests subtract from it).
  const created = Wasi.create(
    {
      args: [name, ...test.args],
      env: test.env,
      // A test without a root folder runs with no file system at all: fd 3 must be invalid.
      files: test.root === undefined ? {} : filesUnder(test.root),
      preopenRoot: test.root !== undefined,
    },
    { startTimeMs: 1_700_000_000_000 },
  );
  if (!created.ok) throw new Error(created.error.message);
  const wasi = created.value;
  const { instance } = await WebAssembly.instantiate(readFileSync(test.wasm), wasi.imports);
  wasi.attach(instance);
  let exitCode: number | undefined = 0;
  let trap: string | undefined;
  try {
    (instance.exports['_start'] as () => void)();
  } catch (error) {
    if (error instanceof WasiExit) exitCode = error.code;
    else if (error instanceof WebAssembly.RuntimeError) [exitCode, trap] = [undefined, error.message];
    else throw error;
  }
  const output = wasi.takeOutput();
  const text = new TextDecoder();
  return { exitCode, trap, stdout: text.decode(output.stdout), stderr: text.decode(output.stderr) };
}

parentPort?.postMessage(await run(workerData as WasiTest));
