/**
 * The `ri-sandbox` command line: `run` a module's action under limits, and
 * `inspect` what a module imports, exports and needs. Written against a small
 * I/O interface so it can be tested in-process; `bin.ts` wires it to Node.
 */
import {
  type HostFunction,
  type SandboxConfigInput,
  type SandboxError,
  WasmDecodeError,
  decodeInstructions,
  decodeModule,
  valTypeName,
} from '@ri-sandbox/core';
import { formatSignature, functionSignature } from '@ri-sandbox/loader';
import { benchTable, runSandboxBench } from '../bench/suite';
import { createWasmSandbox } from '../sandbox';
import { benchModules } from './bench-modules';
import { describeValue } from '../text';
import { type ParsedArgs, UsageError, integerOption, parseArgs, sizeOption, stringOption } from './args';

/** What the command line needs from its environment. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Reads a file; rejects with an `Error` whose message names the problem. */
  readonly readFile: (path: string) => Promise<Uint8Array>;
  /** Writes a file; rejects with an `Error` whose message names the problem. */
  readonly writeFile: (path: string, bytes: Uint8Array) => Promise<void>;
  /** Compiles WebAssembly text to binary. */
  readonly watToWasm: (source: string, path: string) => Promise<Uint8Array>;
  /** Imports a JavaScript module by path. */
  readonly importModule: (path: string) => Promise<Record<string, unknown>>;
}

/** Exit codes, one per outcome. */
export const EXIT_CODES = Object.freeze({
  OK: 0,
  USAGE: 1,
  INVALID_MODULE: 2,
  WASM_TRAP: 3,
  GAS_EXHAUSTED: 4,
  TIMEOUT: 5,
  MEMORY_EXCEEDED: 6,
  HOST_FUNCTION_ERROR: 7,
  OTHER: 8,
  SNAPSHOT_ERROR: 9,
});

export const HELP = `ri-sandbox: run untrusted WebAssembly under limits

Usage:
  ri-sandbox run <module.wasm|module.wat> <action> [payload-json] [options]
  ri-sandbox inspect <module.wasm|module.wat>
  ri-sandbox bench [--instances <n>]
  ri-sandbox help

run options:
  --max-gas <n>        gas for the execution (default 1000000)
  --max-memory <size>  memory limit: bytes, or 64KiB, 16MiB, 1GiB (default 16MiB)
  --timeout <ms>       wall-clock limit in milliseconds (default 50)
  --seed <n>           deterministic seed (default 0)
  --time <ms>          the timestamp the guest sees, ms since the epoch (default: now)
  --host-fns <file>    an ES module whose default export is the host functions
                       (an object keyed by name, or an array of HostFunction)
  --restore <file>     before the action, restore a snapshot of the same module
                       (taken with the same --max-memory and host functions)
  --snapshot-out <file>  after a successful action, write the instance's snapshot
  --json               print the outcome as one JSON object

bench runs the performance suite (create, load, execute, snapshot, restore,
end to end, live instances), showing progress on stderr, and prints the table
with each figure as a ratio against a raw WebAssembly baseline from the same run.

The payload is JSON: a number or an array of numbers is passed as arguments,
anything else goes through the JSON ABI (see the README). i64 results print as
decimal strings in --json output.

Exit codes:
  0  success                 4  GAS_EXHAUSTED
  1  usage or input error    5  TIMEOUT
  2  INVALID_MODULE          6  MEMORY_EXCEEDED
  3  WASM_TRAP               7  HOST_FUNCTION_ERROR
  9  SNAPSHOT_ERROR          8  any other sandbox error
`;

function exitCodeOf(error: SandboxError): number {
  return (EXIT_CODES as Record<string, number>)[error.code] ?? EXIT_CODES.OTHER;
}

/** JSON of an outcome object, with bigints as decimal strings. */
function toJson(value: object): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** A value for people: JSON, with bigints marked `n`. */
function show(value: unknown): string {
  return value === undefined ? '(none)' : describeValue(value);
}

const group = (n: number) => n.toLocaleString('en-US');

async function readModule(io: CliIo, path: string): Promise<Uint8Array> {
  const bytes = await io.readFile(path);
  return path.endsWith('.wat') ? io.watToWasm(new TextDecoder().decode(bytes), path) : bytes;
}

async function loadHostFunctions(io: CliIo, path: string): Promise<Record<string, HostFunction>> {
  const exported = (await io.importModule(path))['default'];
  if (Array.isArray(exported))
    return Object.fromEntries((exported as HostFunction[]).map((fn) => [fn.name, fn]));
  if (typeof exported === 'object' && exported !== null) return exported as Record<string, HostFunction>;
  throw new UsageError(`${path} must export default an object of host functions (or an array of them)`);
}

async function configOf(io: CliIo, args: ParsedArgs): Promise<SandboxConfigInput> {
  const hostFile = args.options.get('host-fns');
  const config: Record<string, unknown> = {
    maxGas: integerOption(args, 'max-gas'),
    maxMemoryBytes: sizeOption(args, 'max-memory'),
    maxExecutionMs: integerOption(args, 'timeout'),
    deterministicSeed: integerOption(args, 'seed'),
    eventTimestamp: integerOption(args, 'time'),
    hostFunctions: typeof hostFile === 'string' ? await loadHostFunctions(io, hostFile) : undefined,
  };
  return config;
}

function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(
      `the payload is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

async function run(io: CliIo, args: ParsedArgs): Promise<number> {
  const [, file, action, payloadText] = args.positionals;
  if (file === undefined || action === undefined)
    throw new UsageError('usage: ri-sandbox run <module> <action> [payload-json]');
  const payload = parsePayload(payloadText);
  const bytes = await readModule(io, file);
  const config = await configOf(io, args);
  const json = args.options.get('json') === true;
  const sandbox = createWasmSandbox();
  const fail = (error: SandboxError): number => {
    if (json) io.stdout(`${toJson({ ok: false, error })}\n`);
    else io.stderr(`${error.code}: ${error.message}\n`);
    return exitCodeOf(error);
  };
  const created = sandbox.create(config);
  if (!created.ok) return fail(created.error);
  const loaded = await sandbox.load(created.value, bytes);
  if (!loaded.ok) return fail(loaded.error);
  const restoreFrom = stringOption(args, 'restore');
  if (restoreFrom !== undefined) {
    const restored = sandbox.restore(created.value, await io.readFile(restoreFrom));
    if (!restored.ok) return fail(restored.error);
  }
  const result = sandbox.execute(created.value, action, payload);
  const snapshotTo = stringOption(args, 'snapshot-out');
  const snapshot = result.ok && snapshotTo !== undefined ? sandbox.snapshot(created.value) : undefined;
  sandbox.destroy(created.value);
  if (!result.ok) return fail(result.error);
  if (snapshot?.ok === false) return fail(snapshot.error);
  if (snapshot !== undefined && snapshotTo !== undefined) await io.writeFile(snapshotTo, snapshot.value);
  if (json) {
    io.stdout(`${toJson(snapshotTo === undefined ? result : { ...result, snapshot: snapshotTo })}\n`);
  } else {
    const m = result.metrics;
    io.stdout(
      [
        `result  ${show(result.value)}`,
        `gas     ${group(result.gasUsed)} of ${group(m.gasLimit)}`,
        `memory  ${group(m.memoryUsedBytes)} of ${group(m.memoryLimitBytes)} bytes`,
        `time    ${result.durationMs.toFixed(3)} of ${m.executionLimitMs} ms`,
        ...(snapshot?.ok === true
          ? [`state   ${group(snapshot.value.length)} bytes written to ${snapshotTo}`]
          : []),
        '',
      ].join('\n'),
    );
  }
  return EXIT_CODES.OK;
}

async function inspect(io: CliIo, args: ParsedArgs): Promise<number> {
  const [, file] = args.positionals;
  if (file === undefined) throw new UsageError('usage: ri-sandbox inspect <module>');
  const bytes = await readModule(io, file);
  let module;
  try {
    module = decodeModule(bytes);
  } catch (error) {
    if (!(error instanceof WasmDecodeError)) throw error;
    io.stderr(`INVALID_MODULE: ${error.message}\n`);
    return EXIT_CODES.INVALID_MODULE;
  }
  const lines: string[] = [
    `module  ${file} (${group(bytes.length)} bytes, ${WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>) ? 'valid' : 'INVALID'})`,
  ];
  const functionType = (index: number) => {
    const type = functionSignature(module, index);
    return type === undefined ? '' : ` ${formatSignature(type)}`;
  };
  lines.push('', 'imports');
  const refused: string[] = [];
  for (const imp of module.imports) {
    const d = imp.descriptor;
    const type =
      d.kind === 'function' ? ` ${formatSignature(module.types[d.type] ?? { params: [], results: [] })}` : '';
    let status: string;
    if (imp.module === 'env' && imp.name === 'memory' && d.kind === 'memory') {
      status =
        d.memory.shared === true
          ? 'refused: shared memory'
          : 'provided by the sandbox (bounded by --max-memory)';
    } else if (imp.module === 'env' && d.kind === 'function') {
      status = 'needs a host function of this name and signature (--host-fns)';
    } else {
      status = 'refused: only env.memory and host functions can be imported';
    }
    if (status.startsWith('refused')) refused.push(`${imp.module}.${imp.name}`);
    lines.push(`  ${imp.module}.${imp.name}  ${d.kind}${type}  ${status}`);
  }
  if (module.imports.length === 0) lines.push('  (none)');
  lines.push('', 'exports');
  for (const e of module.exports)
    lines.push(`  ${e.name}  ${e.kind}${e.kind === 'function' ? functionType(e.index) : ''}`);
  if (module.exports.length === 0) lines.push('  (none)');
  const memory = module.memories[0];
  const importedMemory = module.imports.find((i) => i.descriptor.kind === 'memory');
  lines.push('', 'memory');
  if (memory !== undefined)
    lines.push(
      `  defined: ${memory.min} pages initially, maximum ${memory.max ?? 'none'} (clamped to --max-memory)`,
    );
  else if (importedMemory?.descriptor.kind === 'memory')
    lines.push(`  imported: ${importedMemory.descriptor.memory.min} pages initially`);
  else lines.push('  none');
  const features = new Set<string>();
  try {
    for (const body of module.code)
      for (const instr of decodeInstructions(body.code)) features.add(instr.op.feature);
  } catch (error) {
    lines.push('', `code  cannot be decoded: ${error instanceof Error ? error.message : String(error)}`);
  }
  features.delete('mvp');
  lines.push('', `features beyond MVP  ${[...features].sort().join(', ') || '(none)'}`);
  lines.push(
    `globals  ${module.globals.map((g) => `${valTypeName(g.type.valueType)}${g.type.mutable ? ' mut' : ''}`).join(', ') || '(none)'}`,
  );
  lines.push(
    '',
    refused.length === 0
      ? 'load  accepted, given the host functions above'
      : `load  refused: ${refused.join(', ')}`,
  );
  io.stdout(`${lines.join('\n')}\n`);
  return refused.length === 0 ? EXIT_CODES.OK : EXIT_CODES.INVALID_MODULE;
}

async function bench(io: CliIo, args: ParsedArgs): Promise<number> {
  const liveInstances = integerOption(args, 'instances') ?? 10_000;
  if (liveInstances < 1) throw new UsageError('--instances must be at least 1');
  const modules = await benchModules(io.watToWasm);
  const rows = await runSandboxBench(modules, {
    liveInstances,
    progress: (name, index, total) => {
      io.stderr(`[${index}/${total}] ${name}\n`);
    },
  });
  io.stdout(`${benchTable(rows)}\n`);
  return EXIT_CODES.OK;
}

/**
 * Runs the command line `argv` (without the node and script paths) and
 * returns the exit code. Failures are one line on stderr, never a stack trace.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const args = parseArgs(argv, new Set(['json', 'help']));
    const command = args.positionals[0];
    if (command === undefined || command === 'help' || args.options.get('help') === true) {
      io.stdout(HELP);
      return command === undefined ? EXIT_CODES.USAGE : EXIT_CODES.OK;
    }
    if (command === 'run') return await run(io, args);
    if (command === 'inspect') return await inspect(io, args);
    if (command === 'bench') return await bench(io, args);
    throw new UsageError(`unknown command "${command}" (try: ri-sandbox help)`);
  } catch (error) {
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_CODES.USAGE;
  }
}
