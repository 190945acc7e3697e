/**
 * CRuby (ruby.wasm, `@ruby/3.4-wasm-wasi`) in a sandbox: deterministic,
 * metered, snapshot-able. Portable: only the public packages, so the same
 * code runs in Node, in browsers and in Bun.
 *
 * ruby.wasm is a WASI reactor. Besides `wasi_snapshot_preview1` it imports
 * `rb-js-abi-host` (Ruby's bridge to JavaScript, for `require "js"`) and
 * `canonical_abi` (handles of Ruby values); its exports take strings the
 * Component Model way (`canonicalArgs`). This sandbox gives Ruby no
 * JavaScript: every `rb-js-abi-host` function ends the execution with
 * `HOST_FUNCTION_ERROR`. Handles are the guest's own numbers, passed through,
 * so nothing outside the guest's memory needs saving in a snapshot.
 */
import { type HostFunction, decodeImports, valTypeName } from '@ri-sandbox/core';
import {
  type LoadedModuleInfo,
  type Result,
  type SandboxConfigInput,
  type SandboxError,
  type SandboxInstance,
  type SuspendingSandbox,
  canonicalArgs,
} from '@ri-sandbox/sandbox';

/** What one evaluation printed, and how it ended. */
export interface RubyRun {
  /** False when the sandbox stopped the evaluation (gas, time, memory, a trap). */
  readonly ok: boolean;
  readonly stdout: string;
  /** Ruby's warnings, and an uncaught exception's report, as `ruby` prints it. */
  readonly stderr: string;
  readonly gasUsed: number;
  /** Why the sandbox stopped the evaluation, when it did. */
  readonly error?: SandboxError;
}

/** A Ruby interpreter in one sandbox instance. */
export interface RubyVm {
  readonly sandbox: SuspendingSandbox;
  readonly instance: SandboxInstance;
  /** Evaluates `source` at top level; an exception it raises is reported on stderr. */
  eval(source: string): RubyRun;
  /** The whole interpreter, its heap and its virtual files: restore it with {@link restoreRuby}. */
  snapshot(): Result<Uint8Array, SandboxError>;
}

/**
 * The configuration Ruby needs unless told otherwise: memory for its heap
 * (about 70 MiB after initialisation), gas for initialisation (about 1.4
 * billion in two executions), and a fixed clock.
 */
export const RUBY_DEFAULTS = {
  maxMemoryBytes: 256 * 1024 * 1024,
  maxGas: 2_000_000_000,
  maxExecutionMs: 60_000,
  eventTimestamp: 1_700_000_000_000,
  wasi: { args: ['ruby'] },
} as const satisfies SandboxConfigInput;

/** The arguments Ruby starts with (C strings: each ends with NUL), as ruby.wasm's own glue passes them. */
const RUBY_ARGS = ['ruby', '-EUTF-8', '-e_=0'].map((arg) => `${arg}\0`);

/**
 * The host functions ruby.wasm imports besides WASI, with the signatures its
 * import section declares: `canonical_abi` handles pass through unchanged, and
 * `rb-js-abi-host` (JavaScript) is refused.
 */
export function rubyHostFunctions(rubyWasm: Uint8Array): Record<string, HostFunction> {
  const module = decodeImports(rubyWasm);
  const functions: Record<string, HostFunction> = {};
  for (const { module: from, name, descriptor } of module.imports) {
    if (descriptor.kind !== 'function' || from === 'wasi_snapshot_preview1') continue;
    const type = module.types[descriptor.type];
    if (type === undefined) throw new RangeError(`${from}.${name} has no type`);
    const handler =
      from === 'canonical_abi'
        ? name.startsWith('resource_drop')
          ? () => undefined
          : (handle: unknown) => handle
        : () => {
            throw new Error(`Ruby asked for JavaScript (${name}); this sandbox offers none`);
          };
    functions[`${from}.${name}`] = {
      module: from,
      name,
      params: type.params.map(valTypeName),
      results: type.results.map(valTypeName),
      handler: handler as HostFunction['handler'],
    } as HostFunction;
  }
  return functions;
}

/** The export whose name starts with `prefix` (ruby.wasm names its exports by their WIT signature). */
function exportNamed(info: LoadedModuleInfo, prefix: string): string {
  const found = info.exports.find((e) => e.kind === 'function' && e.name.startsWith(prefix));
  if (found === undefined) throw new RangeError(`this is not ruby.wasm: no export "${prefix}..."`);
  return found.name;
}

/** Base64 of UTF-8, without Node's Buffer. */
function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Ruby that evaluates `source` as the file `main.rb` and reports an uncaught
 * exception on stderr. The source travels in Base64, so no character of it
 * can end the string it is in.
 */
function evaluation(source: string): string {
  return [
    'begin',
    `  eval("${base64(source)}".unpack1("m").force_encoding("UTF-8"), TOPLEVEL_BINDING, "main.rb", 1)`,
    'rescue Exception => e',
    // The report shows the script's own frames, not those of this evaluation.
    '  e.set_backtrace(e.backtrace.select { |line| line.start_with?("main.rb:") }) if e.backtrace',
    '  $stderr.print e.full_message(highlight: false)',
    'ensure',
    '  $stdout.flush',
    '  $stderr.flush',
    'end',
  ].join('\n');
}

/**
 * Ruby's first report of a `NameError` loads error_highlight and did_you_mean, which costs about 660
 * million gas; later ones cost about 10 million. Initialisation pays it once, so that the snapshot
 * holds them and the first error in a restored interpreter costs what later ones do.
 */
const WARM_UP = 'begin; nil.ri_sandbox_warm_up; rescue NoMethodError => e; e.full_message; end';

const decoder = new TextDecoder();

function vmOf(sandbox: SuspendingSandbox, instance: SandboxInstance, info: LoadedModuleInfo): RubyVm {
  const evalExport = exportNamed(info, 'rb-eval-string-protect:');
  return {
    sandbox,
    instance,
    eval(source) {
      const result = sandbox.execute(instance, evalExport, canonicalArgs(evaluation(source)));
      const stdout = decoder.decode(result.output?.stdout);
      const stderr = decoder.decode(result.output?.stderr);
      return result.ok
        ? { ok: true, stdout, stderr, gasUsed: result.gasUsed }
        : { ok: false, stdout, stderr, gasUsed: instance.metrics.gasUsed, error: result.error };
    },
    snapshot: () => sandbox.snapshot(instance),
  };
}

async function loaded(
  sandbox: SuspendingSandbox,
  rubyWasm: Uint8Array,
  config: SandboxConfigInput,
): Promise<Result<{ instance: SandboxInstance; info: LoadedModuleInfo }, SandboxError>> {
  const created = sandbox.create({
    ...RUBY_DEFAULTS,
    ...config,
    hostFunctions: { ...rubyHostFunctions(rubyWasm), ...config.hostFunctions },
  });
  if (!created.ok) return created;
  const info = await sandbox.load(created.value, rubyWasm);
  if (!info.ok) {
    sandbox.destroy(created.value);
    return info;
  }
  return { ok: true, value: { instance: created.value, info: info.value } };
}

/**
 * Creates an instance for ruby.wasm (`config` over {@link RUBY_DEFAULTS}),
 * loads it, and initialises the interpreter (`ruby_init`, the standard
 * library's load path, then what the first error report loads), metered
 * like any execution.
 */
export async function startRuby(
  sandbox: SuspendingSandbox,
  rubyWasm: Uint8Array,
  config: SandboxConfigInput = {},
): Promise<Result<RubyVm, SandboxError>> {
  const ready = await loaded(sandbox, rubyWasm, config);
  if (!ready.ok) return ready;
  const { instance, info } = ready.value;
  const init = sandbox.execute(instance, exportNamed(info, 'ruby-init:'), canonicalArgs(RUBY_ARGS));
  if (!init.ok) {
    sandbox.destroy(instance);
    return init;
  }
  const vm = vmOf(sandbox, instance, info);
  const warm = vm.eval(WARM_UP);
  if (!warm.ok) {
    sandbox.destroy(instance);
    return { ok: false, error: warm.error as SandboxError };
  }
  return { ok: true, value: vm };
}

/**
 * A new instance holding the interpreter `snapshot` saved: no initialisation
 * runs. `config` may differ from the one the snapshot was taken under in its
 * gas and time limits (say, a large budget to initialise, a small one to
 * evaluate untrusted code), not in its memory limit.
 */
export async function restoreRuby(
  sandbox: SuspendingSandbox,
  rubyWasm: Uint8Array,
  snapshot: Uint8Array,
  config: SandboxConfigInput = {},
): Promise<Result<RubyVm, SandboxError>> {
  const ready = await loaded(sandbox, rubyWasm, config);
  if (!ready.ok) return ready;
  const { instance, info } = ready.value;
  const restored = sandbox.restore(instance, snapshot);
  if (!restored.ok) {
    sandbox.destroy(instance);
    return restored;
  }
  return { ok: true, value: vmOf(sandbox, instance, info) };
}
