/**
 * `createWasmSandbox`: the seven-method {@link WasmSandbox} over the loader.
 */
import {
  type ExecutionOutput,
  type ExecutionResult,
  type GuestMemory,
  type HostFunction,
  type ImportSignature,
  type LoadedModuleInfo,
  type ResourceMetrics,
  type Result,
  type SandboxConfigInput,
  type SandboxError,
  type SandboxInstance,
  type SnapshotOptions,
  type SuspendingSandbox,
  type SandboxConfig,
  type WasmModule,
  classifyTrap,
  defineHostFunction,
  err,
  importModuleOf,
  moduleWith,
  ok,
  pagesForBytes,
  resolveConfig,
  SandboxOptionsError,
  sandboxError,
  snapshotCopy,
} from '@ri-sandbox/core';
import { Pcg32 } from '@ri-sandbox/determinism';
import {
  type CompiledModule,
  type ImportName,
  SYNC_MODULE_BYTES,
  checkImports,
  compileModule,
  MemoryPool,
  instantiateModule,
  instantiateModuleSync,
  moduleBytes,
} from '@ri-sandbox/loader';
import {
  type MemoryRange,
  type SnapshotBinding,
  type StateLayout,
  dataSegmentRanges,
  warmUpEqualBytes,
  warmUpXxh3,
  warmUpZeroBlocks,
} from '@ri-sandbox/snapshot';
import { Meter, warmUpMetering } from '@ri-sandbox/metering';
import {
  type JsonCall,
  directResult,
  findAction,
  prepareDirectCall,
  prepareJsonCall,
  readJsonOutput,
  writeJsonInput,
} from './actions';
import {
  type CheckedArgument,
  REALLOC_EXPORT,
  findRealloc,
  lowerArguments,
  placeholderValues,
} from './canonical';
import { type Capability, capabilityImports, runOutput } from './capability';
import { GuestMemoryView } from './guest-memory';
import { type Payload, fillDirectArguments, readPayload } from './payload';
import { type AbortSignalBox, bridgeHostFunction } from './host-bridge';
import { type ContextSlot, IdleInstances, IdleRegistry, type ImportsKey } from './idle-instances';
import {
  type Action,
  type HostContext,
  InstanceState,
  type LiveModule,
  type LoadedModule,
  createHandle,
  stateOf,
  withoutInstance,
} from './instance';
import {
  type ConfigHashCache,
  checkSnapshot,
  costsInNameOrder,
  depthCounter,
  instanceFor,
  snapshotBinding,
  snapshotTarget,
  takeSnapshot,
} from './snapshots';
import { type SandboxOptions, resolveOptions } from './options';
import {
  type Prepared,
  type PreparedModuleStore,
  decodePrepared,
  encodePrepared,
  preparedKey,
  readStore,
  writeStore,
} from './prepared';
import { sha256Now } from './sha256';
import { hex, sha256, stringifyJson } from './text';
import { ModuleCache } from './module-cache';
import { instrumentForSandbox } from './transforms';
import { WasiCapability } from './wasi-capability';

/** A module compiled with every sandbox transform, and where it exposes its state. */
interface Compiled {
  readonly compiled: CompiledModule;
  readonly layout: StateLayout;
}

/**
 * A compiled module as a factory keeps it: with the SHA-256 of the module it was compiled from, which
 * only snapshots, restores and a store of prepared modules need (see `compileAndKeep`), and its idle
 * instances (if the factory reuses them).
 */
type CachedModule = Compiled & {
  readonly moduleHash: () => Uint8Array;
  readonly idle: IdleInstances | undefined;
  /** Where the module's data segments write (see `dataSegmentRanges`), if that is known before. */
  readonly dataRanges: readonly MemoryRange[] | undefined;
};

/**
 * Modules up to this size are hashed when a snapshot or a restore first needs it, here and now (about
 * 1.7 ms for 256 KiB), and a load that none follows does not pay for it; larger ones by Web Crypto,
 * on another thread, while they are transformed and compiled.
 */
const HASH_WHEN_NEEDED_BYTES = 256 << 10;

/** What a kept module holds in place of the bytes it was compiled from (see `compileCached`). */
const COMPILED_AWAY = new Uint8Array(0);

/** The idle instances of every factory that reuses memories (see `IdleInstances`). */
const IDLE_INSTANCES = new IdleRegistry();

/**
 * The memories of instances replaced or destroyed, kept for the next instances of every factory that
 * reuses memories (see `reuseMemories`): a factory is often made per tenant or per request, and a
 * memory given back by one serves another as well.
 */
const SHARED_MEMORIES: MemoryPool = new (class extends MemoryPool {
  /**
   * A memory kept, else that of an idle instance of the same shape (see `IdleRegistry`), given to the
   * pool first so that it counts the instances the memory serves.
   */
  override take(initialPages: number, maximumPages: number): WebAssembly.Memory | undefined {
    const kept = super.take(initialPages, maximumPages);
    if (kept !== undefined) return kept;
    const idle = IDLE_INSTANCES.releaseWithMemory(initialPages, maximumPages)?.memory;
    if (idle === undefined) return undefined;
    this.give(idle, maximumPages);
    return super.take(initialPages, maximumPages);
  }
})();

/** How many compiled modules a sandbox factory keeps for reuse. */
const COMPILED_CACHE_SIZE = 64;

/** How many bytes of modules {@link SHARED_COMPILED} keeps in all (the last one kept whatever its size). */
const SHARED_COMPILED_BYTES = 64 << 20;

/**
 * What compilations made of modules, kept for every factory of the process, by the module's bytes and
 * every setting the transforms depend on (see `sharingKey`): a factory is often made per tenant or per
 * request, and loads the modules the last one loaded. Each factory keeps its own entries too, with its
 * idle instances; this one keeps none, only what a compilation made (up to 64 modules, 64 MiB of them).
 */
const SHARED_COMPILED = new ModuleCache<Omit<CachedModule, 'idle'>>(
  COMPILED_CACHE_SIZE,
  undefined,
  SHARED_COMPILED_BYTES,
);

/**
 * What a kept module needs of the decoded one it was compiled from: its imports and types, to check a
 * later load's host functions against (`relinked`). The rest (every function body and data segment as
 * objects: tens of thousands for a large module) is let go.
 */
function importsOnly(decoded: WasmModule): WasmModule {
  return moduleWith({ imports: decoded.imports, types: decoded.types });
}

/** A copy of `instance`'s linear memory (empty without one), for package-internal use. */
export function memorySnapshotOf(instance: SandboxInstance): Uint8Array<ArrayBuffer> {
  const memory = stateOf(instance)?.live?.memory;
  return memory === undefined ? new Uint8Array() : new Uint8Array(memory.buffer).slice();
}

/**
 * The deterministic builtins every guest may import: `env.__get_time() -> f64`,
 * the configured event timestamp (no real clock reaches the guest), and
 * `env.__get_random() -> i32`, the next 32 bits of the instance's PCG32.
 */
function builtins(clock: { readonly eventTimestamp: number }, prng: Pcg32): Record<string, HostFunction> {
  return {
    __get_time: defineHostFunction({
      name: '__get_time',
      params: [],
      results: ['f64'],
      handler: () => clock.eventTimestamp,
    }),
    __get_random: defineHostFunction({
      name: '__get_random',
      params: [],
      results: ['i32'],
      handler: () => prng.next() | 0,
    }),
  };
}

/** `stack_overflow` if the guest trapped because it nested calls past `maxCallDepth`. */
function depthError(live: LiveModule): SandboxError | undefined {
  return (live.depth.value as number) > live.maxCallDepth
    ? sandboxError.wasmTrap('stack_overflow', `call depth exceeded maxCallDepth (${live.maxCallDepth})`)
    : undefined;
}

/**
 * `fn` called with `args`: the usual counts without a spread, which cost some 6 ns a call here, where
 * calling a small export costs 3.
 */
function invoke(fn: Action['fn'], args: readonly unknown[]): unknown {
  switch (args.length) {
    case 0:
      return fn();
    case 1:
      return fn(args[0]);
    case 2:
      return fn(args[0], args[1]);
    case 3:
      return fn(args[0], args[1], args[2]);
    default:
      return fn(...args);
  }
}

/** The value an execution of `action` gives: the guest's exit code if it exited, else what the capabilities make of `value`. */
function resultOf(live: LiveModule, action: string, value: unknown): unknown {
  if (live.abort.exitCode !== undefined) return live.abort.exitCode;
  let result = value;
  for (const capability of live.capabilities) result = capability.resultOf(action, result);
  return result;
}

/** The host function each of `imports` is bound to (`undefined` where a capability provides it). */
function hostFunctionsFor(
  imports: readonly ImportName[],
  hostFunctions: Readonly<Record<string, HostFunction>>,
): (HostFunction | undefined)[] {
  const byImport = new Map(
    Object.values(hostFunctions).map((fn) => [`${importModuleOf(fn)}\u0000${fn.name}`, fn]),
  );
  return imports.map(({ module, name }) => byImport.get(`${module}\u0000${name}`));
}

/** Every function import of the module, ready: host functions (`bound`, by import) bridged, and the capabilities' own. */
function bridgeHostImports(
  imports: readonly ImportName[],
  bound: readonly (HostFunction | undefined)[],
  abort: AbortSignalBox,
  slot: ContextSlot,
  checkTime: () => SandboxError | undefined,
  capabilities: readonly Capability[],
): LoadedModule['functions'] {
  const functions: Record<string, Record<string, (...args: never[]) => unknown>> = {};
  for (const [module, provided] of Object.entries(capabilityImports(capabilities)))
    functions[module] = Object.assign({}, provided);
  imports.forEach(({ module, name }, i) => {
    const fn = bound[i];
    if (fn !== undefined) (functions[module] ??= {})[name] = bridgeHostFunction(fn, abort, slot, checkTime);
  });
  return functions;
}

function trapError(thrown: unknown): SandboxError {
  const trap = classifyTrap(thrown);
  return sandboxError.wasmTrap(trap.trapKind, trap.message);
}

/**
 * Creates a sandbox factory. Instances it creates are numbered `sandbox-0`,
 * `sandbox-1`, ... in creation order, independently of other factories.
 * Options are checked here, once: an unknown option, a clock that is not a
 * function returning a number, a bad cost model or growth policy throw a
 * {@link SandboxOptionsError} whose `error` is the typed `INVALID_CONFIG`
 * (the only exception the sandbox throws; every method returns a `Result`).
 *
 * @example
 * ```ts
 * const sandbox = createWasmSandbox();
 * const created = sandbox.create({ maxMemoryBytes: 1 << 20 });
 * if (!created.ok) throw new Error(created.error.message);
 * const instance = created.value;
 * await sandbox.load(instance, bytes);
 * const result = sandbox.execute(instance, 'add', [2, 3]); // { ok: true, value: 5, ... }
 * ```
 */
export function createWasmSandbox(options?: SandboxOptions): SuspendingSandbox {
  const checked = resolveOptions(options);
  if (!checked.ok) throw new SandboxOptionsError(checked.error);
  // Before any guest is compiled, so that JavaScriptCore does not queue the kernels (the snapshot's, and
  // metering's scan) behind it.
  // An engine that refuses to compile (a Content-Security-Policy without 'wasm-unsafe-eval') refuses the
  // guests too, and each load says so; making the factory does not fail for it.
  try {
    warmUpXxh3();
    warmUpZeroBlocks();
    warmUpEqualBytes();
    warmUpMetering();
  } catch {
    // See above.
  }
  const resolved = checked.value;
  const { now, wallClock, costs: costModel } = resolved;
  /** This factory: the owner of the instances it creates (see `InstanceState.owner`). */
  const owner = {};
  /** Where the memories of instances replaced or destroyed go, for the next ones (see `reuseMemories`). */
  const memories = resolved.reuseMemories ? SHARED_MEMORIES : undefined;
  /** The state behind `instance` if this factory created it. */
  const ownState = (instance: SandboxInstance): InstanceState | undefined => {
    const state = stateOf(instance);
    return state?.owner === owner ? state : undefined;
  };
  let nextId = 0;

  /** The state of `instance` if `operation` may proceed on it, or the error saying why not. */
  function stateFor(instance: SandboxInstance, operation: string): Result<InstanceState, SandboxError> {
    const state = usableState(instance, operation);
    return state instanceof InstanceState ? ok(state) : err(state);
  }

  /** {@link stateFor} without the result around it. */
  function usableState(instance: SandboxInstance, operation: string): InstanceState | SandboxError {
    const state = ownState(instance);
    if (state === undefined) return sandboxError.notAnInstance(operation, instance);
    if (state.status === 'destroyed') return sandboxError.instanceDestroyed(state.id);
    if (state.status === 'running')
      return sandboxError.invalidState(
        state.id,
        state.status,
        operation,
        'a host function cannot re-enter its instance',
      );
    return state;
  }

  /** The WASI capability of a loaded instance, or why there is none. */
  function wasiOf(instance: SandboxInstance, operation: string): Result<WasiCapability, SandboxError> {
    const checked = stateFor(instance, operation);
    if (!checked.ok) return checked;
    const state = checked.value;
    if (state.status === 'suspended')
      return err(sandboxError.invalidState(state.id, state.status, operation, 'resume it first'));
    const live = state.live;
    if (live === undefined)
      return err(sandboxError.invalidState(state.id, state.status, operation, 'load a module first'));
    const wasi = live.capabilities.find((c): c is WasiCapability => c instanceof WasiCapability);
    if (wasi === undefined) {
      return err(
        sandboxError.invalidState(
          state.id,
          state.status,
          operation,
          'it has no WASI (create it with config.wasi)',
        ),
      );
    }
    return ok(wasi);
  }

  /**
   * Runs guest code, turning whatever it throws into the error that explains it. A guest that
   * exited (WASI's `proc_exit`) ended well: its exit code is in `live.abort.exitCode`.
   */
  function runGuest(
    live: LiveModule,
    fn: Action['fn'],
    args: readonly unknown[],
  ): Result<unknown, SandboxError> {
    // The guest may write anywhere in its memory now.
    live.written.now = undefined;
    try {
      const value = invoke(fn, args);
      if (live.abort.failure !== undefined) return err(live.abort.failure);
      return ok(value);
    } catch (error) {
      const stopped: Result<unknown, SandboxError> =
        live.abort.failure !== undefined
          ? err(live.abort.failure)
          : live.abort.exitCode !== undefined
            ? ok(undefined)
            : err(live.meter.stopError() ?? depthError(live) ?? trapError(error));
      // The guest did not return, so its exports did not set the call depth back to 0: this does.
      live.depth.value = 0;
      return stopped;
    }
  }

  function callJson(
    live: LiveModule,
    action: Action,
    payload: Extract<Payload, { kind: 'json' }>,
  ): Result<unknown, SandboxError> {
    const { text } = payload;
    const prepared = prepareJsonCall(live, action, payload.elements);
    if (!prepared.ok) return prepared;
    const call: JsonCall = prepared.value;
    const pointer = runGuest(live, call.alloc.fn, [text.length]);
    if (!pointer.ok || live.abort.exitCode !== undefined) return pointer;
    const address = writeJsonInput(call, pointer.value, text);
    if (!address.ok) return address;
    const returned = runGuest(live, action.fn, [address.value, text.length]);
    if (!returned.ok) return returned;
    return readJsonOutput(call, returned.value);
  }

  /** A direct call whose strings and bytes are first copied into memory the guest allocates. */
  function callCanonical(
    live: LiveModule,
    action: Action,
    args: readonly CheckedArgument[],
  ): Result<unknown, SandboxError> {
    const arity = prepareDirectCall(action, placeholderValues(args));
    if (!arity.ok) return arity;
    const realloc = findRealloc((name) => findAction(live, name));
    if (!realloc.ok) return realloc;
    const memory = live.memory;
    if (memory === undefined)
      return err(sandboxError.wasmTrap('abi_violation', 'strings and bytes as arguments need a memory'));
    const allocate = (align: number, size: number): Result<number, SandboxError> => {
      const pointer = runGuest(live, realloc.value.fn, [0, 0, align, size]);
      if (pointer.ok && live.abort.exitCode !== undefined)
        return err(sandboxError.wasmTrap('abi_violation', `${REALLOC_EXPORT} exited the guest`));
      return pointer.ok ? ok((pointer.value as number) >>> 0) : pointer;
    };
    const lowered = lowerArguments(memory, allocate, args);
    if (!lowered.ok) return lowered;
    const values = prepareDirectCall(action, lowered.value);
    if (!values.ok) return values;
    return callDirect(live, action, values.value);
  }

  function callAction(live: LiveModule, name: string, payload: unknown): Result<unknown, SandboxError> {
    let action = live.actions.get(name);
    if (action === undefined) {
      const found = findAction(live, name);
      if (!found.ok) return found;
      action = found.value;
    }
    // Most calls pass numbers, one per parameter: those need no payload read into objects, nor a copy.
    if (fillDirectArguments(action, payload)) return callDirect(live, action, action.args);
    const read = readPayload(payload);
    if (!read.ok) return read;
    const given = read.value;
    if (given.kind === 'canonical') return callCanonical(live, action, given.args);
    if (given.kind === 'json') return callJson(live, action, given);
    const values = prepareDirectCall(action, given.args);
    return values.ok ? callDirect(live, action, values.value) : values;
  }

  /** Calls `action` with `args`, checked against its parameters, returning what direct mode returns. */
  function callDirect(
    live: LiveModule,
    action: Action,
    args: readonly unknown[],
  ): Result<unknown, SandboxError> {
    const returned = runGuest(live, action.fn, args);
    if (!returned.ok) return returned;
    const value = directResult(action, returned.value);
    return value === returned.value ? returned : ok(value);
  }

  /**
   * Compiles `bytes` for `config` with every sandbox transform (see `./transforms`),
   * or with the bytes and layout of `from.prepared` in their place. The bytes compiled
   * are the result's only with `from.keepBytes` (a store needs them): otherwise the
   * next load writes over them.
   */
  async function compileFresh(
    bytes: Uint8Array,
    config: SandboxConfig,
    hostFunctions: Readonly<Record<string, ImportSignature>>,
    from: { readonly prepared?: Prepared; readonly keepBytes?: boolean } = {},
  ): Promise<Result<Compiled, SandboxError>> {
    const { prepared } = from;
    let layout = prepared?.layout;
    const compiled = await compileModule(bytes, {
      maxMemoryBytes: config.maxMemoryBytes,
      hostFunctions,
      // `bytes` are the load's own copy (see compileCached).
      copyInput: false,
      // The engine validates the transformed bytes, and the transforms refuse every module their
      // additions would make valid (see `meterModule`): the input's own validation is spared, unless
      // a prepared module takes the transforms' place.
      validateInput: prepared !== undefined,
      transientOutput: from.keepBytes !== true,
      rewritten: prepared?.bytes,
      transform: (module) => {
        const instrumented = instrumentForSandbox(module, {
          costs: costModel,
          memoryLimitPages: pagesForBytes(config.maxMemoryBytes),
          memoryGrowFailure: resolved.memoryGrowFailure,
          maxCallDepth: config.maxCallDepth,
          canonicalizeNaNs: resolved.canonicalizeNaNs,
        });
        if (!instrumented.ok) return instrumented;
        layout = instrumented.value.layout;
        return ok(instrumented.value.module);
      },
    });
    return compiled.ok ? ok({ compiled: compiled.value, layout: layout as StateLayout }) : compiled;
  }

  /**
   * Compiles `bytes` (of SHA-256 `moduleHash`) with the prepared module `store`
   * keeps for them under `config`; if it keeps none that compiles, transforms
   * them and hands the store what they became.
   */
  async function compileThroughStore(
    store: PreparedModuleStore,
    bytes: Uint8Array,
    moduleHash: Uint8Array,
    config: SandboxConfig,
    hostFunctions: Readonly<Record<string, ImportSignature>>,
  ): Promise<Result<Compiled, SandboxError>> {
    const digest = await preparedKey(moduleHash, {
      maxMemoryBytes: config.maxMemoryBytes,
      maxCallDepth: config.maxCallDepth,
      costs: costModel,
      canonicalizeNaNs: resolved.canonicalizeNaNs,
      memoryGrowFailure: resolved.memoryGrowFailure,
    });
    const key = hex(digest);
    const prepared = decodePrepared(await readStore(store, key), digest);
    if (prepared !== undefined) {
      const reused = await compileFresh(bytes, config, hostFunctions, { prepared });
      if (reused.ok) return reused;
    }
    const compiled = await compileFresh(bytes, config, hostFunctions, { keepBytes: true });
    if (compiled.ok) {
      const { compiled: module, layout } = compiled.value;
      writeStore(store, key, encodePrepared(digest, { bytes: module.bytes, layout }));
    }
    return compiled;
  }

  const configHashes: ConfigHashCache = new Map();
  /** This factory's settings the transforms depend on, besides a config's: part of `SHARED_COMPILED`'s variants. */
  const sharingKey = stringifyJson({
    costs: costsInNameOrder(costModel),
    memoryGrowFailure: resolved.memoryGrowFailure,
    canonicalizeNaNs: resolved.canonicalizeNaNs,
  });

  // Compiled modules, by their bytes and the config fields the transforms depend on; and the
  // compilations under way, by the same key.
  // A module no longer kept takes its idle instances with it; their memories go to the pool.
  const compiledCache = new ModuleCache<CachedModule>(COMPILED_CACHE_SIZE, (evicted) => {
    for (const live of evicted.idle?.drain() ?? []) retire(live, undefined, false);
  });
  const compiling = new ModuleCache<Promise<Result<CachedModule, SandboxError>>>(COMPILED_CACHE_SIZE);

  /**
   * Compiles once per distinct (module, maxMemoryBytes, maxCallDepth) and reuses the
   * `WebAssembly.Module` and the module's SHA-256 (found again by the bytes, synchronously);
   * a cached module is still checked against this config's host functions. A load of bytes
   * another load is compiling waits for that compilation rather than starting its own.
   */
  async function compileCached(
    bytes: Uint8Array,
    config: SandboxConfig,
    hostFunctions: Readonly<Record<string, ImportSignature>>,
  ): Promise<Result<CachedModule, SandboxError>> {
    const variant = `${config.maxMemoryBytes}:${config.maxCallDepth}`;
    // The caller's bytes are only read before the first await: a module compiled before is found by
    // them, and anything else works on a copy, so that the caller may change them once `load` returns.
    const hit = compiledCache.get(bytes, variant);
    if (hit !== undefined) return relinked(hit, hostFunctions);
    const own = bytes.slice();
    let waited: Promise<Result<CachedModule, SandboxError>> | undefined;
    for (;;) {
      const cached = compiledCache.get(own, variant);
      if (cached !== undefined) return relinked(cached, hostFunctions);
      const underway = compiling.get(own, variant);
      if (underway === undefined || underway === waited) break;
      waited = underway;
      const shared = await underway;
      if (shared.ok) return relinked(shared.value, hostFunctions);
      // The failure may be that load's own (host functions it was not given): this one compiles,
      // unless another that waited too is compiling already.
    }
    const started = compileAndKeep(own, variant, config, hostFunctions);
    compiling.set(own, variant, started);
    try {
      return await started;
    } finally {
      compiling.delete(own, variant, started);
    }
  }

  /** `cached`, if its imports are among `hostFunctions` (a load's own, which the module was not checked against). */
  function relinked(
    cached: CachedModule,
    hostFunctions: Readonly<Record<string, ImportSignature>>,
  ): Result<CachedModule, SandboxError> {
    const linked = checkImports(cached.compiled.decoded, hostFunctions);
    return linked.ok ? ok(cached) : linked;
  }

  /** Compiles `bytes` (through the store of prepared modules, if there is one) and keeps the result. */
  async function compileAndKeep(
    bytes: Uint8Array,
    variant: string,
    config: SandboxConfig,
    hostFunctions: Readonly<Record<string, ImportSignature>>,
  ): Promise<Result<CachedModule, SandboxError>> {
    const store = resolved.preparedModules;
    const sharedVariant = `${sharingKey}${variant}`;
    // Another factory's compilation, unless this one has a store (which must then be handed the module).
    const shared = store === undefined ? SHARED_COMPILED.get(bytes, sharedVariant) : undefined;
    if (shared !== undefined) {
      const linked = checkImports(shared.compiled.decoded, hostFunctions);
      return linked.ok ? ok(keep(bytes, variant, shared)) : linked;
    }
    // A store of prepared modules needs the digest first, to find them. Otherwise a large module's
    // digest (Web Crypto copies the bytes when called) runs while it is transformed and compiled, and
    // a small one's when it is needed, from the bytes the cache keeps anyway.
    const hashing = store === undefined && bytes.length <= HASH_WHEN_NEEDED_BYTES ? undefined : sha256(bytes);
    const compiled =
      hashing === undefined || store === undefined
        ? await compileFresh(bytes, config, hostFunctions)
        : await compileThroughStore(store, bytes, await hashing, config, hostFunctions);
    if (!compiled.ok) {
      hashing?.catch(() => undefined);
      return compiled;
    }
    let moduleHash = hashing === undefined ? undefined : await hashing;
    // What instances need is kept; the bytes that were compiled (the rewritten module: megabytes for a
    // large one) were needed once, by the engine, which keeps its own copy, and by the store.
    const { compiled: module, layout } = compiled.value;
    const made = {
      compiled: Object.assign({}, module, { bytes: COMPILED_AWAY, decoded: importsOnly(module.decoded) }),
      layout,
      moduleHash: () => (moduleHash ??= sha256Now(bytes)),
      dataRanges: dataSegmentRanges(module.decoded),
    };
    SHARED_COMPILED.set(bytes, sharedVariant, made);
    return ok(keep(bytes, variant, made));
  }

  /** Keeps what a compilation `made` of `bytes` in this factory's cache, with idle instances of its own. */
  function keep(bytes: Uint8Array, variant: string, made: Omit<CachedModule, 'idle'>): CachedModule {
    const entry: CachedModule = {
      compiled: made.compiled,
      layout: made.layout,
      moduleHash: made.moduleHash,
      idle: memories === undefined ? undefined : new IdleInstances(made.layout, IDLE_INSTANCES),
      dataRanges: made.dataRanges,
    };
    compiledCache.set(bytes, variant, entry);
    return entry;
  }

  async function load(
    instance: SandboxInstance,
    bytes: Uint8Array | ArrayBuffer,
  ): Promise<Result<LoadedModuleInfo, SandboxError>> {
    const checked = stateFor(instance, 'load');
    if (!checked.ok) return checked;
    const state = checked.value;
    if (state.loading)
      return err(sandboxError.invalidState(state.id, state.status, 'load', 'another load is in progress'));
    // Read before the first await (found in the cache, or copied to be compiled: see compileCached),
    // so the caller may reuse its buffer at once.
    const given = moduleBytes(bytes, false);
    if (!given.ok) return given;
    const input = given.value;
    state.loading = true;
    // A host function may destroy the instance while it loads (during the start function, say).
    const destroyed = () => state.destroyed;
    try {
      const loaded = await loadModule(state, input);
      if (!loaded.ok) return loaded;
      if (destroyed()) return err(sandboxError.instanceDestroyed(state.id));
      const live = loaded.value;
      live.context.memory = live.memory === undefined ? undefined : new GuestMemoryView(live.memory);
      const started = startModule(live, state.config);
      if (!started.ok) return started;
      if (destroyed()) return err(sandboxError.instanceDestroyed(state.id));
      const previous = state.live;
      state.live = live;
      state.suspended = undefined;
      state.status = 'loaded';
      state.gasUsed = 0;
      state.executionMs = 0;
      state.settle();
      if (previous !== undefined) retire(previous, previous.context.memory, true);
      const output = started.value;
      return ok(
        output === undefined ? live.compiled.info : Object.assign({}, live.compiled.info, { output }),
      );
    } finally {
      state.loading = false;
    }
  }

  /** Compiles (or reuses) and instantiates a module for `state`, without touching `state`. */
  async function loadModule(
    state: InstanceState,
    input: Uint8Array,
  ): Promise<Result<LiveModule, SandboxError>> {
    const { config } = state;
    // Before any await: the caller may change (or detach) its buffer once `load` has returned.
    const byteLength = input.length;
    // A load starts the guest's random sequence afresh from the seed.
    const prng = new Pcg32(config.deterministicSeed);
    const clock = { eventTimestamp: config.eventTimestamp };
    const ownBuiltins = builtins(clock, prng);
    const hostFunctions = Object.assign({}, config.hostFunctions, ownBuiltins);
    const meter = new Meter({ now });
    const checkTime = () => meter.checkTime();
    // The new module's host functions report to their own box, so a failed load
    // leaves the current module and its state untouched.
    const abort: AbortSignalBox = { failure: undefined, exitCode: undefined };
    const capabilities: Capability[] = [];
    if (config.wasi !== undefined) {
      const wasi = WasiCapability.create(config.wasi, {
        meter,
        abort,
        checkTime,
        costs: costModel,
        eventTimestamp: config.eventTimestamp,
        seed: config.deterministicSeed,
      });
      if (!wasi.ok) return wasi;
      capabilities.push(wasi.value);
    }
    const provided = Object.assign({}, hostFunctions, ...capabilities.map((c) => c.provides)) as Record<
      string,
      ImportSignature
    >;
    const compiled = await compileCached(input, config, provided);
    if (!compiled.ok) return compiled;
    const { compiled: module, layout, moduleHash, idle, dataRanges } = compiled.value;
    // Only a snapshot or a restore needs the binding: a load does not pay for it.
    let bound: SnapshotBinding | undefined;
    const binding = () =>
      (bound ??= snapshotBinding(
        moduleHash(),
        {
          config,
          costs: costModel,
          canonicalizeNaNs: resolved.canonicalizeNaNs,
          memoryGrowFailure: resolved.memoryGrowFailure,
          hostImports: module.hostImports,
          provided,
          capabilities: capabilities.map((c) => c.name),
        },
        configHashes,
      ));
    // Host functions see this module's memory once it is instantiated.
    const context: HostContext = { instanceId: state.id, memory: undefined };
    const boundTo = hostFunctionsFor(module.hostImports, hostFunctions);
    // Builtins by name: an idle instance's are its own, bound to the clock and generator it keeps.
    const importsKey: ImportsKey = boundTo.map((fn) =>
      fn === undefined ? '' : ownBuiltins[fn.name] === fn ? fn.name : fn,
    );
    const reused = capabilities.length === 0 ? idle?.take(importsKey) : undefined;
    if (reused !== undefined) return ok(reusing(reused, { prng, clock }, config, context, binding));
    const contextSlot: ContextSlot = { current: context };
    const functions = bridgeHostImports(
      module.hostImports,
      boundTo,
      abort,
      contextSlot,
      checkTime,
      capabilities,
    );
    // A small module is instantiated at once (no turn of the event loop); engines refuse that for
    // large ones on a browser's main thread.
    const live =
      byteLength <= SYNC_MODULE_BYTES
        ? instantiateModuleSync(module, functions, config.maxMemoryBytes, meter.imports, memories)
        : await instantiateModule(module, functions, config.maxMemoryBytes, meter.imports, memories);
    if (!live.ok) return live;
    const { instance: wasmInstance, memory } = live.value;
    // The state every instance of the module starts in, for its idle instances (none with capabilities).
    if (capabilities.length === 0) idle?.noteFresh(wasmInstance, memory, dataRanges);
    meter.attach(wasmInstance);
    for (const capability of capabilities) capability.attach(memory);
    return ok({
      compiled: module,
      layout,
      // Until the start function (if any) runs: instantiated on a zeroed memory.
      written: { atInstantiation: dataRanges, now: dataRanges },
      binding,
      functions,
      context,
      contextSlot,
      idle,
      importsKey,
      abort,
      meter,
      prng,
      clock,
      maxCallDepth: config.maxCallDepth,
      capabilities,
      instance: wasmInstance,
      memory,
      actions: new Map(),
      depth: depthCounter(wasmInstance),
    });
  }

  /**
   * `idle`, an idle instance put back in its initial state, as a load for `config` with host
   * `context` and snapshot `binding`: what its imports are bound to is reset as a new load would make
   * it (the abort box cleared, the clock and random generator set to the load's `fresh` ones, which
   * its builtins do not reach), and its host functions see `context`.
   */
  function reusing(
    idle: LiveModule,
    fresh: Pick<LiveModule, 'prng' | 'clock'>,
    config: SandboxConfig,
    context: HostContext,
    binding: () => SnapshotBinding,
  ): LiveModule {
    idle.abort.failure = undefined;
    idle.abort.exitCode = undefined;
    idle.prng.restore(fresh.prng.save());
    idle.clock.eventTimestamp = fresh.clock.eventTimestamp;
    idle.contextSlot.current = context;
    idle.meter.attach(idle.instance);
    return Object.assign({}, idle, { binding, context, maxCallDepth: config.maxCallDepth });
  }

  /** Runs one export at load (the start function, a reactor's initializer), metered like an execution. */
  function runAtLoad(
    live: LiveModule,
    config: SandboxConfig,
    name: string,
    what: string,
  ): Result<void, SandboxError> {
    const fn = live.instance.exports[name] as () => unknown;
    live.meter.begin(config);
    for (const capability of live.capabilities) capability.beginRun();
    const started = runGuest(live, fn, []);
    for (const capability of live.capabilities) capability.endRun();
    const failure = started.ok ? live.meter.overspent() : started.error;
    live.meter.end();
    const exitCode = live.abort.exitCode;
    live.abort.exitCode = undefined;
    if (failure === undefined && (exitCode ?? 0) !== 0)
      return err(sandboxError.wasmTrap('unreachable', `the ${what} exited with code ${exitCode}`));
    if (failure === undefined) return ok(undefined);
    return err(
      failure.code === 'WASM_TRAP'
        ? sandboxError.wasmTrap(failure.trapKind, `${what} trapped: ${failure.message}`)
        : failure,
    );
  }

  /**
   * Runs the module's start function (an export since `exposeState`), then each capability's
   * initializer the module exports (a WASI reactor's `_initialize`), and returns what they wrote.
   */
  function startModule(
    live: LiveModule,
    config: SandboxConfig,
  ): Result<ExecutionOutput | undefined, SandboxError> {
    const steps: [string, string][] = [];
    if (live.layout.start !== undefined) steps.push([live.layout.start, 'start function']);
    for (const capability of live.capabilities) {
      const name = capability.initializer;
      if (name !== undefined && typeof live.instance.exports[name] === 'function') steps.push([name, name]);
    }
    for (const [name, what] of steps) {
      const ran = runAtLoad(live, config, name, what);
      if (!ran.ok) return ran;
    }
    return ok(runOutput(live.capabilities));
  }

  /** Why `execute` may not run `action` on `instance` (a call the few checks of its own turned away). */
  function executeRefusal(instance: SandboxInstance, action: unknown): SandboxError {
    const state = usableState(instance, 'execute');
    if (!(state instanceof InstanceState)) return state;
    if (state.status === 'suspended')
      return sandboxError.invalidState(state.id, state.status, 'execute', 'resume it first');
    if (state.live !== undefined && typeof action !== 'string')
      return sandboxError.invalidPayload('the action must be an export name (a string)');
    return sandboxError.invalidState(state.id, state.status, 'execute', 'load a module first');
  }

  function execute(instance: SandboxInstance, action: string, payload?: unknown): ExecutionResult {
    // The checks every run passes are made here, and the general ones only to explain a refusal: V8
    // inlines calls into the optimized `execute` until a budget of bytecode is spent, in the order of
    // their counts (which differ by a hair), and the calls every run makes need it.
    const state = ownState(instance);
    const live = state?.live;
    if (state?.status !== 'loaded' || live === undefined || typeof action !== 'string')
      return err(executeRefusal(instance, action));
    state.status = 'running';
    live.abort.failure = undefined;
    live.abort.exitCode = undefined;
    // The config is frozen, and has the meter's limits.
    live.meter.begin(state.config);
    // Most modules have no capability (only WASI is one, and only it sets an exit code): their runs
    // make none of the calls for them, which then spend none of that budget.
    const { capabilities } = live;
    const capable = capabilities.length > 0;
    if (capable) for (const capability of capabilities) capability.beginRun();
    let outcome: Result<unknown, SandboxError>;
    let ended = false;
    try {
      outcome = callAction(live, action, payload);
      // The counter is read once, by end(); what follows uses the tally. It is cleared only for a
      // snapshot (which reads the globals): the next run overwrites it.
      live.meter.end(false);
      ended = true;
      const overspent = outcome.ok ? live.meter.overspent() : undefined;
      if (overspent !== undefined) outcome = err(overspent);
      else if (outcome.ok && capable) {
        const value = resultOf(live, action, outcome.value);
        if (value !== outcome.value) outcome = ok(value);
      }
    } finally {
      if (capable) for (const capability of capabilities) capability.endRun();
      state.executionMs = Math.max(0, live.meter.elapsedMs());
      if (!ended) live.meter.end(false);
      state.gasUsed = live.meter.gasUsed();
      live.abort.failure = undefined;
      live.abort.exitCode = undefined;
      if (!state.destroyed) state.status = 'loaded';
    }
    const metrics = state.settle();
    const output = capable ? runOutput(capabilities) : undefined;
    if (state.destroyed) return err(sandboxError.instanceDestroyed(state.id));
    if (!outcome.ok) return output === undefined ? outcome : { ok: false, error: outcome.error, output };
    const result = {
      ok: true as const,
      value: outcome.value,
      metrics,
      gasUsed: state.gasUsed,
      durationMs: state.executionMs,
    };
    return output === undefined ? result : Object.assign(result, { output });
  }

  /**
   * Keeps `live`, a module replaced or destroyed on which no guest runs, for the next loads of its
   * module if `idle` (no other instance may share what its imports are bound to) and it can be; else
   * gives its memory to the pool for the next instances. `view`, the host functions' view of its
   * memory, stops working.
   */
  function retire(live: LiveModule, view: GuestMemory | undefined, idle: boolean): void {
    if (view instanceof GuestMemoryView) view.revoke();
    const parked = idle ? live.idle?.park(live, live.importsKey) : undefined;
    // Those the process's budget let go of to make room: their memories go to the pool.
    for (const evicted of parked?.evicted ?? []) retire(evicted, undefined, false);
    if (parked?.kept === true) return;
    if (live.memory !== undefined) memories?.give(live.memory, live.compiled.memory.maximumPages);
  }

  /** Puts `state`'s instance in the state `snapshot` captured, committing only if every check passed. */
  function restoreInto(
    state: InstanceState,
    module: LoadedModule,
    snapshot: Uint8Array,
  ): Result<void, SandboxError> {
    const checked = checkSnapshot(module, snapshot);
    if (!checked.ok) return checked;
    const restored = instanceFor(module, state.live, checked.value, state.config.maxMemoryBytes, memories);
    if (!restored.ok) return restored;
    const live = restored.value;
    const previous = state.live;
    const previousView = previous?.context.memory;
    const { host } = checked.value;
    live.meter.attach(live.instance);
    live.prng.restore(host.prng);
    live.clock.eventTimestamp = host.eventTimestamp;
    // Restored in place, the instance keeps its memory, and host functions the view they had of it.
    if (live !== state.live)
      live.context.memory = live.memory === undefined ? undefined : new GuestMemoryView(live.memory);
    if (state.config.eventTimestamp !== host.eventTimestamp)
      state.config = Object.freeze(Object.assign({}, state.config, { eventTimestamp: host.eventTimestamp }));
    state.live = live;
    state.suspended = undefined;
    state.status = 'loaded';
    state.gasUsed = host.gasUsed;
    // Not part of a snapshot: durations differ from run to run.
    state.executionMs = 0;
    state.settle();
    // The new instance shares what the previous one's imports are bound to: the previous is not kept.
    if (previous !== undefined && previous !== live) retire(previous, previousView, false);
    return ok(undefined);
  }

  return {
    create(config?: SandboxConfigInput): Result<SandboxInstance, SandboxError> {
      const checked = resolveConfig(config, wallClock);
      if (!checked.ok) return checked;
      return ok(createHandle(new InstanceState(`sandbox-${nextId++}`, checked.value, owner)));
    },

    load,
    execute,

    destroy(instance: SandboxInstance): Result<void, SandboxError> {
      const state = ownState(instance);
      if (state === undefined) return stateFor(instance, 'destroy') as Result<never, SandboxError>;
      if (state.status === 'destroyed') return ok(undefined);
      const { live } = state;
      // A guest still running (destroy from inside a host function) is stopped at its next host call;
      // its memory, which it may write until then, is left to the collector.
      if (live !== undefined) {
        live.abort.failure = sandboxError.instanceDestroyed(state.id);
        if (state.status !== 'running') retire(live, live.context.memory, true);
      }
      state.status = 'destroyed';
      state.live = undefined;
      state.suspended = undefined;
      state.config = Object.freeze(Object.assign({}, state.config, { hostFunctions: Object.freeze({}) }));
      state.gasUsed = 0;
      state.executionMs = 0;
      state.settle();
      return ok(undefined);
    },

    snapshot(instance: SandboxInstance, options?: SnapshotOptions): Result<Uint8Array, SandboxError> {
      const checked = stateFor(instance, 'snapshot');
      if (!checked.ok) return checked;
      const state = checked.value;
      const into = snapshotTarget(options, state.live?.memory);
      if (!into.ok) return into;
      if (state.suspended !== undefined) return ok(snapshotCopy(state.suspended.snapshot, into.value));
      if (state.live === undefined)
        return err(sandboxError.invalidState(state.id, state.status, 'snapshot', 'load a module first'));
      return takeSnapshot(state.live, state.gasUsed, into.value);
    },

    restore(instance: SandboxInstance, snapshot: Uint8Array): Result<void, SandboxError> {
      const checked = stateFor(instance, 'restore');
      if (!checked.ok) return checked;
      const state = checked.value;
      const module = state.live ?? state.suspended?.module;
      if (module === undefined) {
        return err(
          sandboxError.invalidState(
            state.id,
            state.status,
            'restore',
            'load the module the snapshot was taken of first',
          ),
        );
      }
      return restoreInto(state, module, snapshot);
    },

    suspend(instance: SandboxInstance): Result<void, SandboxError> {
      const checked = stateFor(instance, 'suspend');
      if (!checked.ok) return checked;
      const state = checked.value;
      if (state.status === 'suspended') return ok(undefined);
      const live = state.live;
      if (live === undefined)
        return err(sandboxError.invalidState(state.id, state.status, 'suspend', 'nothing is loaded'));
      const snapshot = takeSnapshot(live, state.gasUsed);
      if (!snapshot.ok) return snapshot;
      const module = withoutInstance(live);
      module.context.memory = undefined;
      state.suspended = { module, snapshot: snapshot.value };
      state.live = undefined;
      state.status = 'suspended';
      state.settle();
      return ok(undefined);
    },

    resume(instance: SandboxInstance): Result<void, SandboxError> {
      const checked = stateFor(instance, 'resume');
      if (!checked.ok) return checked;
      const state = checked.value;
      if (state.suspended === undefined)
        return err(sandboxError.invalidState(state.id, state.status, 'resume', 'it is not suspended'));
      return restoreInto(state, state.suspended.module, state.suspended.snapshot);
    },

    readFiles(instance: SandboxInstance): Result<Readonly<Record<string, Uint8Array>>, SandboxError> {
      const wasi = wasiOf(instance, 'read the files of');
      return wasi.ok ? ok(wasi.value.files()) : wasi;
    },

    writeFiles(
      instance: SandboxInstance,
      files: Readonly<Record<string, Uint8Array | string>>,
    ): Result<void, SandboxError> {
      const wasi = wasiOf(instance, 'write the files of');
      if (!wasi.ok) return wasi;
      const replaced = wasi.value.replaceFiles(files);
      // The same checks as config.wasi.files, under this method's own name.
      return replaced.ok
        ? replaced
        : err(sandboxError.invalidConfig(replaced.error.field.replace(/^wasi\./, ''), replaced.error.reason));
    },

    getMetrics(instance: SandboxInstance): Result<ResourceMetrics, SandboxError> {
      const state = ownState(instance);
      if (state === undefined) return stateFor(instance, 'measure') as Result<never, SandboxError>;
      if (state.status === 'destroyed') return err(sandboxError.instanceDestroyed(state.id));
      return ok(state.measure());
    },
  };
}
