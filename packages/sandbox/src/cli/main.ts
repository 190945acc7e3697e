/**
 * The `ri-sandbox` command line: `run` a module's action under limits, and
 * `inspect` what a module imports, exports and needs. Written against a small
 * I/O interface so it can be tested in-process; `bin.ts` wires it to Node.
 */
import {
  type FuncType,
  type HostFunction,
  type Import,
  WASI_IMPORT_MODULE,
  type SandboxError,
  type WasmModule,
  WasmDecodeError,
  decodeInstructions,
  decodeModule,
  sandboxError,
  valTypeName,
  thrownReason,
} from '@ri-sandbox/core';
import { formatSignature, functionSignature } from '@ri-sandbox/loader';
import { benchTable, runSandboxBench } from '../bench/suite';
import type { PreparedModuleStore } from '../prepared';
import { createWasmSandbox } from '../sandbox';
import { benchModules } from './bench-modules';
import { describeValue } from '../text';
import { LIBRARY_VERSION } from '../version';
import {
  type CommandSpec,
  type ParsedArgs,
  UsageError,
  flag,
  listOption,
  numberOption,
  parseArgs,
  requirePositionals,
  sizeOption,
  stringOption,
} from './args';

/** What the command line needs from its environment. */
export interface CliIo {
  /** Writes to standard output: text, or the bytes a WASI guest wrote. */
  readonly stdout: (text: string | Uint8Array) => void;
  readonly stderr: (text: string | Uint8Array) => void;
  /** All of standard input when it is piped (empty when it is a terminal), for a WASI guest. */
  readonly readStdin: () => Promise<Uint8Array>;
  /** Every file under a host folder, by path relative to it (`/`-separated); rejects with a readable message. */
  readonly readFolder: (path: string) => Promise<Record<string, Uint8Array>>;
  /** Reads a file; rejects with an `Error` whose message names the problem. */
  readonly readFile: (path: string) => Promise<Uint8Array>;
  /** Writes a file; rejects with an `Error` whose message names the problem. */
  readonly writeFile: (path: string, bytes: Uint8Array) => Promise<void>;
  /** Makes a folder and its parents if missing; rejects with an `Error` whose message names the problem. */
  readonly makeFolder: (path: string) => Promise<void>;
  /** A store of prepared modules in a folder (see `--prepared`). */
  readonly preparedStore: (folder: string) => PreparedModuleStore;
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
  ri-sandbox run <wasi-command.wasm> [args...] [options]
  ri-sandbox inspect <module.wasm|module.wat> [--json]
  ri-sandbox bench [--instances <n>] [--json]
  ri-sandbox help | --help | -h
  ri-sandbox --version

run options:
  --max-gas <n>        gas for the execution (default 1000000)
  --max-memory <size>  memory limit: bytes, or 64KiB, 16MiB, 1GiB (default 16MiB)
  --timeout <ms>       wall-clock limit in milliseconds, fractions allowed (default 50)
  --seed <n>           deterministic seed (default 0)
  --time <ms>          the timestamp the guest sees, ms since the epoch (default: now)
  --host-fns <file>    an ES module whose default export is the host functions
                       (an object keyed by name, or an array of HostFunction)
  --restore <file>     before the action, restore a snapshot of the same module
                       (taken with the same --max-memory and host functions)
  --snapshot-out <file>  after a successful action, write the instance's snapshot
  --prepared <folder>  keep what loads make of modules in <folder> (made if
                       missing): a later run of the same module, with the same
                       --max-memory, compiles that instead of transforming it;
                       the folder is kept under 1 GiB, least recently used out
  --json               print the outcome as one JSON object

A module that imports wasi_snapshot_preview1 and exports _start is a WASI
command: the words after it are its arguments (argv[0] is the module's path),
its standard input is ours when piped, its output goes to ours, and the exit
code is its own (limit errors keep theirs). Its files are virtual:
  --dir <host>[::<guest>]  copy a host folder into the guest's file system at
                       <guest> (default: the same path under /); repeatable
  --env <name>=<value> set a variable of the guest's environment; repeatable

inspect lists what a module imports (and what the sandbox does about each),
exports, memory and features, and whether a load would accept it.

bench runs the performance suite (create, load, execute, snapshot, restore,
end to end, live instances), showing progress on stderr, and prints the table
with each figure as a ratio against a raw WebAssembly baseline from the same run.

The payload is JSON: a number or an array of numbers is passed as arguments,
anything else goes through the JSON ABI (see the README). i64 results print as
decimal strings in --json output. Options may come anywhere after the command;
\`--\` ends them. An unknown option or an extra argument is an error.

Exit codes:
  0  success                 4  GAS_EXHAUSTED
  1  usage or input error    5  TIMEOUT
  2  INVALID_MODULE          6  MEMORY_EXCEEDED
  3  WASM_TRAP               7  HOST_FUNCTION_ERROR
  9  SNAPSHOT_ERROR          8  any other sandbox error
`;

/** The version of this command line (the `@ri-sandbox/sandbox` package's). */
export const VERSION: string = LIBRARY_VERSION;

const RUN: CommandSpec = {
  name: 'run',
  positionals: ['module', 'action-or-args...'],
  options: {
    'max-gas': true,
    'max-memory': true,
    timeout: true,
    seed: true,
    time: true,
    'host-fns': true,
    restore: true,
    'snapshot-out': true,
    prepared: true,
    json: false,
    dir: 'repeat',
    env: 'repeat',
  },
};
/** What `run` takes for an action of a module that is not a WASI command. */
const ACTION_USAGE = 'ri-sandbox run <module> <action> [payload-json]';
const INSPECT: CommandSpec = { name: 'inspect', positionals: ['module'], options: { json: false } };
const BENCH: CommandSpec = { name: 'bench', positionals: [], options: { instances: true, json: false } };
const HELP_COMMAND: CommandSpec = { name: 'help', positionals: [], options: {} };

/** The option of `run` that sets each config field, for messages about a bad value. */
const OPTION_OF_FIELD: Readonly<Record<string, string>> = {
  maxGas: 'max-gas',
  maxMemoryBytes: 'max-memory',
  maxExecutionMs: 'timeout',
  deterministicSeed: 'seed',
  eventTimestamp: 'time',
  hostFunctions: 'host-fns',
};

function exitCodeOf(error: SandboxError): number {
  return (EXIT_CODES as Record<string, number>)[error.code] ?? EXIT_CODES.OTHER;
}

/** JSON of an outcome object, with bigints as decimal strings and errors (a host error's cause) as name and message. */
function toJson(value: object): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return { name: v.name, message: v.message };
    return v;
  });
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

async function configOf(io: CliIo, args: ParsedArgs): Promise<Record<string, unknown>> {
  const hostFile = stringOption(args, 'host-fns');
  const config: Record<string, unknown> = {
    maxGas: numberOption(args, 'max-gas', true),
    maxMemoryBytes: sizeOption(args, 'max-memory'),
    maxExecutionMs: numberOption(args, 'timeout'),
    deterministicSeed: numberOption(args, 'seed', true),
    eventTimestamp: numberOption(args, 'time', true),
    hostFunctions: hostFile === undefined ? undefined : await loadHostFunctions(io, hostFile),
  };
  return config;
}

/** A config the sandbox refused, as the command line's mistake: the option that set the field, and why. */
function badOption(error: SandboxError): UsageError | undefined {
  if (error.code !== 'INVALID_CONFIG') return undefined;
  const [field = '', ...rest] = error.field.split('.');
  const option = OPTION_OF_FIELD[field];
  if (option === undefined) return undefined;
  const detail = rest.length > 0 ? ` (${error.field})` : '';
  return new UsageError(`--${option}${detail} ${error.reason}`);
}

function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`the payload is not JSON: ${thrownReason(error)}`);
  }
}

/** Whether `bytes` are a WASI command (importing WASI, exporting `_start`), and whether they import WASI at all. */
function wasiKind(bytes: Uint8Array): { readonly imports: boolean; readonly command: boolean } {
  try {
    const module = decodeModule(bytes);
    const imports = module.imports.some((i) => i.module === WASI_IMPORT_MODULE);
    return {
      imports,
      command: imports && module.exports.some((e) => e.name === '_start' && e.kind === 'function'),
    };
  } catch {
    // Not a module: the load explains why.
    return { imports: false, command: false };
  }
}

/** The guest's files from `--dir host[::guest]` options. */
async function wasiFiles(io: CliIo, args: ParsedArgs): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const spec of listOption(args, 'dir')) {
    const [host, guest = host] = spec.split('::') as [string, string | undefined];
    if (host === '') throw new UsageError(`--dir needs a host folder, got ${spec}`);
    const at = `/${guest
      .split('/')
      .filter((part) => part !== '' && part !== '.')
      .join('/')}`;
    for (const [path, bytes] of Object.entries(await io.readFolder(host)))
      files[`${at === '/' ? '' : at}/${path}`] = bytes;
  }
  return files;
}

/** The guest's environment from `--env name=value` options. */
function wasiEnv(args: ParsedArgs): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of listOption(args, 'env')) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new UsageError(`--env must be name=value, got ${entry}`);
    env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

async function run(io: CliIo, args: ParsedArgs): Promise<number> {
  const [file, ...rest] = requirePositionals(args, RUN) as [string, ...string[]];
  const config = await configOf(io, args);
  const bytes = await readModule(io, file);
  const kind = wasiKind(bytes);
  if (!kind.imports && (listOption(args, 'dir').length > 0 || listOption(args, 'env').length > 0))
    throw new UsageError('--dir and --env are for WASI modules, and this one does not import WASI');
  if (kind.imports) {
    config.wasi = {
      args: kind.command ? [file, ...rest] : [file],
      env: wasiEnv(args),
      files: await wasiFiles(io, args),
      stdin: await io.readStdin(),
    };
  }
  const [action, payloadText, ...extra] = kind.command ? ['_start'] : rest;
  if (action === undefined) throw new UsageError(`usage: ${ACTION_USAGE}`);
  if (extra.length > 0)
    throw new UsageError(
      `unexpected argument${extra.length === 1 ? '' : 's'} ${extra.map((a) => JSON.stringify(a)).join(' ')}: usage: ${ACTION_USAGE}`,
    );
  const payload = parsePayload(payloadText);
  const json = flag(args, 'json');
  const prepared = stringOption(args, 'prepared');
  if (prepared !== undefined) await io.makeFolder(prepared);
  const sandbox = createWasmSandbox(
    prepared === undefined ? {} : { preparedModules: io.preparedStore(prepared) },
  );
  const fail = (error: SandboxError): number => {
    if (json) io.stdout(`${toJson({ ok: false, error })}\n`);
    else io.stderr(`${error.code}: ${error.message}\n`);
    return exitCodeOf(error);
  };
  const created = sandbox.create(config);
  if (!created.ok) {
    const usage = badOption(created.error);
    if (usage !== undefined) throw usage;
    return fail(created.error);
  }
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
  // A WASI guest's own output goes to ours, as it would outside the sandbox (with --json, into the object).
  if (!json && result.output !== undefined) {
    io.stdout(result.output.stdout);
    io.stderr(result.output.stderr);
  }
  if (!result.ok) return fail(result.error);
  if (snapshot?.ok === false) return fail(snapshot.error);
  if (snapshot !== undefined && snapshotTo !== undefined) await io.writeFile(snapshotTo, snapshot.value);
  if (json) {
    const text = new TextDecoder();
    const output =
      result.output === undefined
        ? {}
        : {
            output: {
              ...result.output,
              stdout: text.decode(result.output.stdout),
              stderr: text.decode(result.output.stderr),
            },
          };
    io.stdout(
      `${toJson({ ...result, ...output, ...(snapshotTo === undefined ? {} : { snapshot: snapshotTo }) })}\n`,
    );
    return kind.command ? (result.value as number) : EXIT_CODES.OK;
  }
  if (kind.command) return result.value as number;
  const m = result.metrics;
  io.stdout(
    [
      `result  ${show(result.value)}`,
      `gas     ${group(result.gasUsed)} of ${group(m.gasLimit)}`,
      `memory  ${group(m.memoryUsedBytes)} of ${group(m.memoryLimitBytes)} bytes`,
      `time    ${result.durationMs.toFixed(3)} of ${group(m.executionLimitMs)} ms`,
      ...(snapshot?.ok === true
        ? [`state   ${group(snapshot.value.length)} bytes written to ${snapshotTo}`]
        : []),
      '',
    ].join('\n'),
  );
  return EXIT_CODES.OK;
}

/** What `inspect` finds in a module, printed as text or as JSON. */
interface InspectReport {
  readonly module: string;
  readonly bytes: number;
  readonly valid: boolean;
  readonly imports: readonly {
    readonly module: string;
    readonly name: string;
    readonly kind: string;
    readonly type: string | undefined;
    readonly status: string;
    readonly refused: boolean;
  }[];
  readonly exports: readonly {
    readonly name: string;
    readonly kind: string;
    readonly type: string | undefined;
  }[];
  readonly memory: string;
  readonly features: readonly string[];
  readonly codeError: string | undefined;
  readonly globals: readonly string[];
  /** The imports a load would refuse (empty: it would accept the module, given its host functions). */
  readonly refused: readonly string[];
}

function importStatus(imp: Import): string {
  const d = imp.descriptor;
  if (imp.module === 'env' && imp.name === 'memory' && d.kind === 'memory')
    return d.memory.shared === true
      ? 'refused: shared memory'
      : 'provided by the sandbox (bounded by --max-memory)';
  if (imp.module === 'env' && d.kind === 'function')
    return 'needs a host function of this name and signature (--host-fns)';
  return 'refused: only env.memory and host functions can be imported';
}

function inspectModule(file: string, bytes: Uint8Array, module: WasmModule): InspectReport {
  const signature = (type: FuncType | undefined) => (type === undefined ? undefined : formatSignature(type));
  const imports = module.imports.map((imp) => {
    const status = importStatus(imp);
    const d = imp.descriptor;
    return {
      module: imp.module,
      name: imp.name,
      kind: d.kind,
      type:
        d.kind === 'function' ? signature(module.types[d.type] ?? { params: [], results: [] }) : undefined,
      status,
      refused: status.startsWith('refused'),
    };
  });
  const memory = module.memories[0];
  const imported = module.imports.find((i) => i.descriptor.kind === 'memory')?.descriptor;
  const features = new Set<string>();
  let codeError: string | undefined;
  try {
    for (const body of module.code)
      for (const instr of decodeInstructions(body.code)) features.add(instr.op.feature);
  } catch (error) {
    codeError = thrownReason(error);
  }
  features.delete('mvp');
  return {
    module: file,
    bytes: bytes.length,
    valid: WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>),
    imports,
    exports: module.exports.map((e) => ({
      name: e.name,
      kind: e.kind,
      type: e.kind === 'function' ? signature(functionSignature(module, e.index)) : undefined,
    })),
    memory:
      memory !== undefined
        ? `defined: ${memory.min} pages initially, maximum ${memory.max ?? 'none'} (clamped to --max-memory)`
        : imported?.kind === 'memory'
          ? `imported: ${imported.memory.min} pages initially`
          : 'none',
    features: [...features].sort(),
    codeError,
    globals: module.globals.map((g) => `${valTypeName(g.type.valueType)}${g.type.mutable ? ' mut' : ''}`),
    refused: imports.filter((i) => i.refused).map((i) => `${i.module}.${i.name}`),
  };
}

function inspectText(report: InspectReport): string {
  const typed = (type: string | undefined) => (type === undefined ? '' : ` ${type}`);
  const lines = [
    `module  ${report.module} (${group(report.bytes)} bytes, ${report.valid ? 'valid' : 'INVALID'})`,
    '',
    'imports',
    ...report.imports.map((i) => `  ${i.module}.${i.name}  ${i.kind}${typed(i.type)}  ${i.status}`),
    ...(report.imports.length === 0 ? ['  (none)'] : []),
    '',
    'exports',
    ...report.exports.map((e) => `  ${e.name}  ${e.kind}${typed(e.type)}`),
    ...(report.exports.length === 0 ? ['  (none)'] : []),
    '',
    'memory',
    `  ${report.memory}`,
    ...(report.codeError === undefined ? [] : ['', `code  cannot be decoded: ${report.codeError}`]),
    '',
    `features beyond MVP  ${report.features.join(', ') || '(none)'}`,
    `globals  ${report.globals.join(', ') || '(none)'}`,
    '',
    report.refused.length === 0
      ? 'load  accepted, given the host functions above'
      : `load  refused: ${report.refused.join(', ')}`,
  ];
  return `${lines.join('\n')}\n`;
}

async function inspect(io: CliIo, args: ParsedArgs): Promise<number> {
  const [file] = requirePositionals(args, INSPECT) as [string];
  const bytes = await readModule(io, file);
  const json = flag(args, 'json');
  let module: WasmModule;
  try {
    module = decodeModule(bytes);
  } catch (error) {
    if (!(error instanceof WasmDecodeError)) throw error;
    const invalid = sandboxError.invalidModule(error.message);
    if (json) io.stdout(`${toJson({ ok: false, error: invalid })}\n`);
    else io.stderr(`INVALID_MODULE: ${error.message}\n`);
    return EXIT_CODES.INVALID_MODULE;
  }
  const report = inspectModule(file, bytes, module);
  io.stdout(json ? `${toJson({ ok: true, ...report })}\n` : inspectText(report));
  return report.refused.length === 0 ? EXIT_CODES.OK : EXIT_CODES.INVALID_MODULE;
}

async function bench(io: CliIo, args: ParsedArgs): Promise<number> {
  const liveInstances = numberOption(args, 'instances', true) ?? 10_000;
  if (liveInstances < 1) throw new UsageError('--instances must be at least 1');
  const modules = await benchModules(io.watToWasm);
  const rows = await runSandboxBench(modules, {
    liveInstances,
    progress: (name, index, total) => {
      io.stderr(`[${index}/${total}] ${name}\n`);
    },
  });
  io.stdout(flag(args, 'json') ? `${toJson(rows)}\n` : `${benchTable(rows)}\n`);
  return EXIT_CODES.OK;
}

const COMMANDS: Readonly<
  Record<string, readonly [CommandSpec, (io: CliIo, args: ParsedArgs) => Promise<number>]>
> = {
  run: [RUN, run],
  inspect: [INSPECT, inspect],
  bench: [BENCH, bench],
  help: [HELP_COMMAND, () => Promise.resolve(EXIT_CODES.OK)],
};

/**
 * Runs the command line `argv` (without the node and script paths) and
 * returns the exit code. Failures are one line on stderr, never a stack trace.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      io.stdout(HELP);
      return EXIT_CODES.USAGE;
    }
    if (first === '--help' || first === '-h') {
      io.stdout(HELP);
      return EXIT_CODES.OK;
    }
    if (first === '--version') {
      if (rest.length > 0) throw new UsageError(`--version takes nothing after it, got ${rest.join(' ')}`);
      io.stdout(`ri-sandbox ${VERSION}\n`);
      return EXIT_CODES.OK;
    }
    const command = COMMANDS[first];
    if (command === undefined) {
      throw new UsageError(
        first.startsWith('-')
          ? `unknown option ${first} (try: ri-sandbox --help)`
          : `unknown command "${first}" (try: ri-sandbox help)`,
      );
    }
    const [spec, handler] = command;
    const args = parseArgs(rest, spec);
    if (spec === HELP_COMMAND || flag(args, 'help')) {
      io.stdout(HELP);
      return EXIT_CODES.OK;
    }
    return await handler(io, args);
  } catch (error) {
    io.stderr(`error: ${thrownReason(error)}\n`);
    return EXIT_CODES.USAGE;
  }
}
