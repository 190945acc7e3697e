/**
 * The cross-engine WASI cases: C programs (clang-14, wasi-libc) and CRuby
 * (ruby.wasm) in the sandbox, whose output, files, gas, memory and snapshots
 * must be byte-identical in Node, Chromium and Bun. Portable: the modules come
 * in as bytes, however the engine reads them.
 */
import { type SandboxInstance, type SuspendingSandbox, createWasmSandbox } from '@ri-sandbox/sandbox';
import { restoreRuby, startRuby } from '../../examples/ruby/ruby';
import { sha256Hex } from '../support/digest';
import { type CaseRecord, GENEROUS_MS, memoryOf } from './suite';

/** The modules the cases run. */
export interface WasiModules {
  /** `tests/wasi/programs/clock_random.c`: the wall clock, a timed loop, a sleep, random bytes. */
  readonly clockRandom: Uint8Array;
  /** `tests/wasi/programs/files.c`: makes, reads, lists, renames and removes files. */
  readonly files: Uint8Array;
  /** `ruby+stdlib.wasm` of `@ruby/3.4-wasm-wasi`. */
  readonly ruby: Uint8Array;
}

/** The names of the modules, as the browser page serves them (`/modules/<name>.wasm`). */
export const WASI_MODULE_NAMES = ['clockRandom', 'files', 'ruby'] as const;

const RUBY_SCRIPT = `
primes = (2..200).select { |n| (2..Math.sqrt(n)).none? { |d| (n % d).zero? } }
puts primes.last(5).inspect, primes.sum
puts Time.now.utc, Array.new(4) { rand(1000) }.inspect
h = Hash.new(0); "the quick brown fox jumps over the lazy dog".each_char { |c| h[c] += 1 }
puts h.max_by { |c, n| [n, c] }.inspect, 2**100, 1.0 / 3, (0.1 + 0.2).to_s
File.write("/out.txt", primes.join(","))
`;

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/** What an instance holds at the end of a case: its files, memory and snapshot, hashed. */
async function finish(
  sandbox: SuspendingSandbox,
  instance: SandboxInstance,
  name: string,
  outcomes: string[],
  gas: number[],
): Promise<CaseRecord> {
  const files = sandbox.readFiles(instance);
  if (!files.ok) throw new Error(files.error.message);
  const listing = Object.entries(files.value).map(([path, bytes]) => `${path}:${bytes.length}`);
  const snapshot = sandbox.snapshot(instance);
  if (!snapshot.ok) throw new Error(snapshot.error.message);
  sandbox.destroy(instance);
  return {
    name,
    outcomes: [...outcomes, listing.join(' ')],
    gas,
    memoryHash: await sha256Hex(memoryOf(snapshot.value)),
    snapshotHash: await sha256Hex(snapshot.value),
  };
}

async function commandCase(name: string, module: Uint8Array, files: Record<string, string>) {
  const sandbox = createWasmSandbox();
  const created = sandbox.create({
    maxGas: 1e10,
    maxExecutionMs: GENEROUS_MS,
    deterministicSeed: 3,
    eventTimestamp: 1_600_000_000_000,
    wasi: { args: [name], files },
  });
  if (!created.ok) throw new Error(created.error.message);
  const loaded = await sandbox.load(created.value, module);
  if (!loaded.ok) throw new Error(loaded.error.message);
  const result = sandbox.execute(created.value, '_start');
  const outcome = result.ok ? `exit ${String(result.value)}` : result.error.code;
  return finish(
    sandbox,
    created.value,
    name,
    [outcome, text(result.output?.stdout)],
    [created.value.metrics.gasUsed],
  );
}

/**
 * CRuby initialised, snapshot, restored into a fresh instance, a script evaluated. One sandbox
 * factory, so the module compiles once: in JavaScriptCore a second compile of ruby.wasm waits
 * behind the first instance's tier-up (about 100 s in Bun 1.4).
 */
async function rubyCase(ruby: Uint8Array): Promise<CaseRecord> {
  const sandbox = createWasmSandbox();
  const booted = await startRuby(sandbox, ruby, { deterministicSeed: 11 });
  if (!booted.ok) throw new Error(booted.error.message);
  const initGas = booted.value.instance.metrics.gasUsed;
  const afterInit = booted.value.snapshot();
  if (!afterInit.ok) throw new Error(afterInit.error.message);
  sandbox.destroy(booted.value.instance);
  const restored = await restoreRuby(sandbox, ruby, afterInit.value, { maxGas: 100_000_000 });
  if (!restored.ok) throw new Error(restored.error.message);
  const vm = restored.value;
  const run = vm.eval(RUBY_SCRIPT);
  const record = await finish(
    vm.sandbox,
    vm.instance,
    'CRuby: initialise, snapshot, restore elsewhere, evaluate',
    [String(run.ok), run.stdout, run.stderr, await sha256Hex(afterInit.value)],
    [initGas, run.gasUsed],
  );
  return record;
}

/** Every WASI case, in order. */
export async function runWasiSuite(modules: WasiModules): Promise<CaseRecord[]> {
  return [
    await commandCase('clock_random', modules.clockRandom, {}),
    await commandCase('files', modules.files, {
      '/data/input.txt': 'a line of input\n',
      '/data/other.bin': '\u0001',
    }),
    await rubyCase(modules.ruby),
  ];
}
