/**
 * One program of the official WASI test suite, run as a command: through the
 * sandbox (every transform, metered) or through `@ri-sandbox/wasi` alone on a
 * plain instance. Portable (no Node built-ins): Node's workers, the Chromium
 * page and Bun all run this same code, so their records can be compared.
 */
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { Wasi, WasiExit } from '@ri-sandbox/wasi';
import { sha256Hex } from '../support/digest';

/** A program with everything it runs with, as bytes. */
export interface SuiteProgram {
  /** `language/name`, e.g. `rust/fd_readdir`. */
  readonly name: string;
  readonly wasm: Uint8Array;
  /** After argv[0] (which is the name). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The test's `root` folder, by guest path; empty for a test without one. */
  readonly files: Readonly<Record<string, Uint8Array>>;
  /** Whether the test has a root folder: one without has no file system at all (fd 3 is invalid). */
  readonly preopenRoot: boolean;
}

/** How a program is run. */
export type SuiteMode = 'sandbox' | 'alone';

/** What a run did. Every field but `detail` must be identical between two runs, on any engine. */
export interface SuiteRun {
  /** `exit N`, or the error code (and trap kind) that stopped it. */
  readonly outcome: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Gas the run used (the sandbox only; `-1` alone, which meters nothing). */
  readonly gasUsed: number;
  /** SHA-256 of every regular file at the end, by path. */
  readonly filesHash: string;
  /** SHA-256 of the whole state at the end: the sandbox's snapshot, or the WASI state alone. */
  readonly stateHash: string;
  /** The engine's own words for a trap (they differ between engines, so they are not compared). */
  readonly detail: string;
}

/** The realtime clock's start, in this century (the tests subtract from it). */
const START_MS = 1_700_000_000_000;

/** Far above what any of these programs needs: conformance tests, not limit tests. */
export const SUITE_LIMITS = { maxGas: 1e11, maxExecutionMs: 120_000, maxMemoryBytes: 256 << 20 } as const;

const text = new TextDecoder();

/** A digest of a file tree: each path, its length and its bytes, in path order. */
function filesDigest(files: Readonly<Record<string, Uint8Array>>): Promise<string> {
  const parts: Uint8Array[] = [];
  const encoder = new TextEncoder();
  for (const path of Object.keys(files).sort()) {
    const bytes = files[path] as Uint8Array;
    parts.push(encoder.encode(`${path}\0${String(bytes.length)}\0`), bytes);
  }
  const all = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return sha256Hex(all);
}

function wasiConfig(program: SuiteProgram) {
  return {
    args: [program.name, ...program.args],
    env: program.env,
    files: program.files,
    preopenRoot: program.preopenRoot,
  };
}

/** Runs `program` in a fresh sandbox instance: loaded with every transform, metered, deterministic. */
export async function runInSandbox(program: SuiteProgram): Promise<SuiteRun> {
  const sandbox = createWasmSandbox();
  const created = sandbox.create({ ...SUITE_LIMITS, eventTimestamp: START_MS, wasi: wasiConfig(program) });
  if (!created.ok) throw new Error(created.error.message);
  const instance = created.value;
  const loaded = await sandbox.load(instance, program.wasm);
  if (!loaded.ok) throw new Error(`load: ${loaded.error.message}`);
  const result = sandbox.execute(instance, '_start');
  const files = sandbox.readFiles(instance);
  if (!files.ok) throw new Error(files.error.message);
  const snapshot = sandbox.snapshot(instance);
  const run: SuiteRun = {
    outcome: result.ok
      ? `exit ${String(result.value)}`
      : result.error.code === 'WASM_TRAP'
        ? `WASM_TRAP ${result.error.trapKind}`
        : result.error.code,
    stdout: text.decode(result.output?.stdout),
    stderr: text.decode(result.output?.stderr),
    gasUsed: instance.metrics.gasUsed,
    filesHash: await filesDigest(files.value),
    stateHash: snapshot.ok ? await sha256Hex(snapshot.value) : `no snapshot: ${snapshot.error.code}`,
    detail: result.ok ? '' : result.error.message,
  };
  sandbox.destroy(instance);
  return run;
}

/** Runs `program` with `@ri-sandbox/wasi` on a plain WebAssembly instance, as a host that meters nothing would. */
export async function runAlone(program: SuiteProgram): Promise<SuiteRun> {
  const created = Wasi.create(wasiConfig(program), { startTimeMs: START_MS });
  if (!created.ok) throw new Error(created.error.message);
  const wasi = created.value;
  const { instance } = await WebAssembly.instantiate(program.wasm as Uint8Array<ArrayBuffer>, wasi.imports);
  wasi.attach(instance);
  let outcome = 'exit 0';
  let detail = '';
  try {
    (instance.exports['_start'] as () => void)();
  } catch (error) {
    if (error instanceof WasiExit) outcome = `exit ${String(error.code)}`;
    else if (error instanceof WebAssembly.RuntimeError) [outcome, detail] = ['WASM_TRAP', error.message];
    else throw error;
  }
  const output = wasi.takeOutput();
  return {
    outcome,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
    gasUsed: -1,
    filesHash: await filesDigest(wasi.files()),
    stateHash: await sha256Hex(wasi.save()),
    detail,
  };
}

/** Runs `program` the way `mode` says. */
export function runProgram(program: SuiteProgram, mode: SuiteMode): Promise<SuiteRun> {
  return mode === 'sandbox' ? runInSandbox(program) : runAlone(program);
}
