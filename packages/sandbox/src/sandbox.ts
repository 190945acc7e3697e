/**
 * `createWasmSandbox`: the seven-method {@link WasmSandbox} over the loader.
 */
import {
  type ExecutionResult,
  type GuestMemory,
  type HostFunction,
  type LoadedModuleInfo,
  type ResourceMetrics,
  type Result,
  type SandboxConfigInput,
  type SandboxError,
  type SandboxInstance,
  type WasmSandbox,
  type SandboxConfig,
  classifyTrap,
  defineHostFunction,
  err,
  importedFunctionCount,
  ok,
  pagesForBytes,
  resolveConfig,
  sandboxError,
} from '@ri-sandbox/core';
import {
  DEPTH_EXPORT,
  Pcg32,
  canonicalizeNaNs,
  findNondeterminism,
  limitCallDepth,
} from '@ri-sandbox/determinism';
import { type CompiledModule, checkImports, compileModule, instantiateModule } from '@ri-sandbox/loader';
import { type CostModel, Meter, type MeterLimits, meterModule, resolveCostModel } from '@ri-sandbox/metering';
import {
  type JsonCall,
  directArguments,
  directResult,
  encodeJsonPayload,
  findAction,
  prepareDirectCall,
  prepareJsonCall,
  readJsonOutput,
  writeJsonInput,
} from './actions';
import { guestMemory } from './guest-memory';
import { type AbortSignalBox, bridgeHostFunction } from './host-bridge';
import { type Action, InstanceState, type LiveModule, createHandle } from './instance';
import { sha256Hex } from './text';

/** Options of a sandbox factory (not of its instances: those take a `SandboxConfig`). */
export interface SandboxOptions {
  /** Monotonic clock in milliseconds, for execution times. Default `performance.now()`. */
  readonly now?: () => number;
  /** Wall clock in milliseconds since the epoch, for the default `eventTimestamp`. Default `Date.now()`. */
  readonly wallClock?: () => number;
  /** Gas cost overrides over the default cost model (see `@ri-sandbox/metering`). */
  readonly costs?: Partial<CostModel>;
  /**
   * What a `memory.grow` past `maxMemoryBytes` does: `'trap'` (default) ends the
   * execution with `MEMORY_EXCEEDED`; `'return-minus-one'` returns -1 to the guest.
   */
  readonly memoryGrowFailure?: 'trap' | 'return-minus-one';
  /**
   * Whether every NaN a float instruction produces is made the canonical NaN,
   * so that results are bit-identical on every engine. Default `true`.
   */
  readonly canonicalizeNaNs?: boolean;
}

const defaultNow = (): number => performance.now();

/** How many compiled modules a sandbox factory keeps for reuse. */
const COMPILED_CACHE_SIZE = 64;

/** Every instance's state, for package-internal inspection (the determinism validator); never exported. */
const ALL_STATES = new WeakMap<SandboxInstance, InstanceState>();

/** A copy of `instance`'s linear memory (empty without one), for package-internal use. */
export function memorySnapshotOf(instance: SandboxInstance): Uint8Array<ArrayBuffer> {
  const memory = ALL_STATES.get(instance)?.live?.memory;
  return memory === undefined ? new Uint8Array() : new Uint8Array(memory.buffer).slice();
}

function limitsOf(config: SandboxConfig): MeterLimits {
  return {
    maxGas: config.maxGas,
    maxExecutionMs: config.maxExecutionMs,
    maxMemoryBytes: config.maxMemoryBytes,
  };
}

/**
 * The deterministic builtins every guest may import: `env.__get_time() -> f64`,
 * the configured event timestamp (no real clock reaches the guest), and
 * `env.__get_random() -> i32`, the next 32 bits of the instance's PCG32.
 */
function builtins(eventTimestamp: number, prng: Pcg32): Record<string, HostFunction> {
  return {
    __get_time: defineHostFunction({
      name: '__get_time',
      params: [],
      results: ['f64'],
      handler: () => eventTimestamp,
    }),
    __get_random: defineHostFunction({
      name: '__get_random',
      params: [],
      results: ['i32'],
      handler: () => prng.next() | 0,
    }),
  };
}

function depthCounter(instance: WebAssembly.Instance): WebAssembly.Global {
  const depth = instance.exports[DEPTH_EXPORT];
  if (!(depth instanceof WebAssembly.Global)) throw new TypeError('the call-depth counter is missing');
  return depth;
}

/** `stack_overflow` if the guest trapped because it nested calls past `maxCallDepth`. */
function depthError(live: LiveModule): SandboxError | undefined {
  return (live.depth.value as number) > live.maxCallDepth
    ? sandboxError.wasmTrap('stack_overflow', `call depth exceeded maxCallDepth (${live.maxCallDepth})`)
    : undefined;
}

function trapError(thrown: unknown): SandboxError {
  const trap = classifyTrap(thrown);
  return sandboxError.wasmTrap(trap.trapKind, trap.message);
}

/**
 * Creates a sandbox factory. Instances it creates are numbered `sandbox-0`,
 * `sandbox-1`, ... in creation order, independently of other factories.
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
export function createWasmSandbox(options: SandboxOptions = {}): WasmSandbox {
  const now = options.now ?? defaultNow;
  const wallClock = options.wallClock ?? Date.now;
  const costModel = resolveCostModel(options.costs);
  const states = new WeakMap<SandboxInstance, InstanceState>();
  const register = (handle: SandboxInstance, state: InstanceState) => {
    states.set(handle, state);
    ALL_STATES.set(handle, state);
  };
  let nextId = 0;

  /** The state of `instance` if `operation` may proceed on it, or the error saying why not. */
  function stateFor(instance: SandboxInstance, operation: string): Result<InstanceState, SandboxError> {
    const state = states.get(instance);
    if (state === undefined) {
      const claimed = (instance as { id?: unknown } | null | undefined)?.id;
      const id = typeof claimed === 'string' ? claimed : '?';
      return err(sandboxError.invalidState(id, 'created', `${operation} an instance of another sandbox`));
    }
    if (state.status === 'destroyed') return err(sandboxError.instanceDestroyed(state.id));
    if (state.status === 'running') return err(sandboxError.invalidState(state.id, state.status, operation));
    return ok(state);
  }

  /** Runs guest code, turning whatever it throws into the error that explains it. */
  function runGuest(live: LiveModule, call: () => unknown): Result<unknown, SandboxError> {
    try {
      const value = call();
      return live.abort.failure === undefined ? ok(value) : err(live.abort.failure);
    } catch (error) {
      return err(live.abort.failure ?? live.meter.stopError() ?? depthError(live) ?? trapError(error));
    }
  }

  function callJson(live: LiveModule, action: Action, payload: unknown): Result<unknown, SandboxError> {
    const input = encodeJsonPayload(payload);
    if (!input.ok) return input;
    const prepared = prepareJsonCall(live, action);
    if (!prepared.ok) return prepared;
    const call: JsonCall = prepared.value;
    const pointer = runGuest(live, () => call.alloc.fn(input.value.length));
    if (!pointer.ok) return pointer;
    const address = writeJsonInput(call, pointer.value, input.value);
    if (!address.ok) return address;
    const returned = runGuest(live, () => action.fn(address.value, input.value.length));
    if (!returned.ok) return returned;
    return readJsonOutput(call, returned.value);
  }

  function callAction(live: LiveModule, name: string, payload: unknown): Result<unknown, SandboxError> {
    const action = findAction(live, name);
    if (!action.ok) return action;
    const args = directArguments(payload);
    if (args === undefined) return callJson(live, action.value, payload);
    const values = prepareDirectCall(action.value, args);
    if (!values.ok) return values;
    const returned = runGuest(live, () => action.value.fn(...values.value));
    return returned.ok ? ok(directResult(action.value, returned.value)) : returned;
  }

  /** Compiles `bytes` for `config` with every sandbox transform: determinism policy, metering, depth, NaNs. */
  function compileFresh(
    bytes: Uint8Array,
    config: SandboxConfig,
    hostFunctions: Readonly<Record<string, HostFunction>>,
    costs: CostModel,
  ): Promise<Result<CompiledModule, SandboxError>> {
    return compileModule(bytes, {
      maxMemoryBytes: config.maxMemoryBytes,
      hostFunctions,
      transform: (module) => {
        const problems = findNondeterminism(module);
        if (problems.length > 0) {
          return err(
            sandboxError.invalidModule(`not deterministic: ${problems.map((p) => p.reason).join('; ')}`),
          );
        }
        const metered = meterModule(module, {
          costs,
          memoryLimitPages: pagesForBytes(config.maxMemoryBytes),
          memoryGrowFailure: options.memoryGrowFailure,
        });
        // After metering, so that neither the depth counter nor canonicalization costs gas.
        if (!metered.ok) return metered;
        // Metering's refill import (right after the module's imports) and its helpers (after the
        // module's functions) are not the guest's calls, and do not count toward its depth.
        const refill = importedFunctionCount(module);
        const helpers = refill + 1 + module.functions.length;
        const counted = (index: number) => index !== refill && index < helpers;
        const limited = limitCallDepth(metered.value, config.maxCallDepth, counted);
        return ok(options.canonicalizeNaNs === false ? limited : canonicalizeNaNs(limited));
      },
    });
  }

  // Compiled modules, by module hash and the config fields the transforms depend on; most recent last.
  const compiledCache = new Map<string, CompiledModule>();

  /**
   * Compiles once per distinct (module, maxMemoryBytes, maxCallDepth) and reuses the
   * `WebAssembly.Module`; a cached module is still checked against this config's host functions.
   */
  async function compileCached(
    bytes: unknown,
    config: SandboxConfig,
    hostFunctions: Readonly<Record<string, HostFunction>>,
  ): Promise<Result<CompiledModule, SandboxError>> {
    if (!costModel.ok) return costModel;
    // Anything but bytes goes straight to the loader, which explains what is wrong with it.
    if (!(bytes instanceof Uint8Array))
      return compileFresh(bytes as Uint8Array, config, hostFunctions, costModel.value);
    const key = `${await sha256Hex(bytes)}:${config.maxMemoryBytes}:${config.maxCallDepth}`;
    const cached = compiledCache.get(key);
    if (cached !== undefined) {
      const linked = checkImports(cached.decoded, hostFunctions);
      if (!linked.ok) return linked;
      compiledCache.delete(key);
      compiledCache.set(key, cached);
      return ok(cached);
    }
    const compiled = await compileFresh(bytes, config, hostFunctions, costModel.value);
    if (compiled.ok) {
      compiledCache.set(key, compiled.value);
      if (compiledCache.size > COMPILED_CACHE_SIZE)
        compiledCache.delete(compiledCache.keys().next().value as string);
    }
    return compiled;
  }

  async function load(
    instance: SandboxInstance,
    bytes: Uint8Array | ArrayBuffer,
  ): Promise<Result<LoadedModuleInfo, SandboxError>> {
    const checked = stateFor(instance, 'load');
    if (!checked.ok) return checked;
    const state = checked.value;
    if (state.loading)
      return err(sandboxError.invalidState(state.id, state.status, 'load while another load is in progress'));
    // Copied before the first await, so the caller may reuse its buffer at once.
    const input: unknown =
      bytes instanceof Uint8Array
        ? bytes.slice()
        : bytes instanceof ArrayBuffer
          ? new Uint8Array(bytes.slice(0))
          : bytes;
    state.loading = true;
    try {
      const { config } = state;
      // A load starts the guest's random sequence afresh from the seed.
      const prng = new Pcg32(config.deterministicSeed);
      const hostFunctions = { ...config.hostFunctions, ...builtins(config.eventTimestamp, prng) };
      const compiled = await compileCached(input, config, hostFunctions);
      if (!compiled.ok) return compiled;
      const meter = new Meter({ now });
      const checkTime = () => meter.checkTime();
      // The new module's host functions report to their own box, so a failed load
      // leaves the current module and its state untouched.
      const abort: AbortSignalBox = { failure: undefined };
      // Host functions see this module's memory, once instantiation has made it reachable
      // (a start function's host calls see none).
      const context: { instanceId: string; memory: GuestMemory | undefined } = {
        instanceId: state.id,
        memory: undefined,
      };
      const functions = Object.fromEntries(
        compiled.value.hostImports.map((name) => {
          const fn = hostFunctions[name];
          return [name, fn === undefined ? undefined : bridgeHostFunction(fn, abort, context, checkTime)];
        }),
      );
      // The start function runs during instantiation, metered like any execution.
      meter.begin(limitsOf(config));
      const live = await instantiateModule(
        compiled.value,
        functions as never,
        config.maxMemoryBytes,
        meter.imports,
      );
      if (abort.failure !== undefined) return err(abort.failure);
      if (!live.ok) return err(meter.stopError() ?? live.error);
      meter.attach(live.value.instance);
      const overspent = meter.overspent();
      if (overspent !== undefined) return err(overspent);
      if (state.destroyed) return err(sandboxError.instanceDestroyed(state.id));
      const { instance: wasmInstance, memory } = live.value;
      context.memory = memory === undefined ? undefined : guestMemory(memory);
      state.live = {
        compiled: compiled.value,
        instance: wasmInstance,
        memory,
        actions: new Map(),
        abort,
        meter,
        depth: depthCounter(wasmInstance),
        maxCallDepth: config.maxCallDepth,
      };
      state.status = 'loaded';
      state.gasUsed = 0;
      state.executionMs = 0;
      state.settle();
      return ok(compiled.value.info);
    } finally {
      state.loading = false;
    }
  }

  function execute(instance: SandboxInstance, action: string, payload?: unknown): ExecutionResult {
    const checked = stateFor(instance, 'execute');
    if (!checked.ok) return checked;
    const state = checked.value;
    const live = state.live;
    if (live === undefined) {
      return err(
        sandboxError.wasmTrap('not_loaded', `instance ${state.id} has no module loaded; call load first`),
      );
    }
    if (typeof action !== 'string')
      return err(sandboxError.invalidPayload('the action must be an export name (a string)'));
    state.status = 'running';
    live.abort.failure = undefined;
    live.meter.begin(limitsOf(state.config));
    live.depth.value = 0;
    let outcome: Result<unknown, SandboxError>;
    try {
      outcome = callAction(live, action, payload);
      const overspent = outcome.ok ? live.meter.overspent() : undefined;
      if (overspent !== undefined) outcome = err(overspent);
    } finally {
      state.executionMs = Math.max(0, live.meter.elapsedMs());
      state.gasUsed = live.meter.gasUsed();
      live.abort.failure = undefined;
      if (!state.destroyed) state.status = 'loaded';
    }
    const metrics = state.settle();
    if (state.destroyed) return err(sandboxError.instanceDestroyed(state.id));
    if (!outcome.ok) return outcome;
    return { ok: true, value: outcome.value, metrics, gasUsed: state.gasUsed, durationMs: state.executionMs };
  }

  return {
    create(config?: SandboxConfigInput): Result<SandboxInstance, SandboxError> {
      if (!costModel.ok) return costModel;
      const resolved = resolveConfig(config, wallClock);
      if (!resolved.ok) return resolved;
      const state = new InstanceState(`sandbox-${nextId++}`, resolved.value);
      const handle = createHandle(state);
      register(handle, state);
      return ok(handle);
    },

    load,
    execute,

    destroy(instance: SandboxInstance): Result<void, SandboxError> {
      const state = states.get(instance);
      if (state === undefined) return stateFor(instance, 'destroy') as Result<never, SandboxError>;
      if (state.status === 'destroyed') return ok(undefined);
      // A guest still running (destroy from inside a host function) is stopped at its next host call.
      if (state.live !== undefined) state.live.abort.failure = sandboxError.instanceDestroyed(state.id);
      state.status = 'destroyed';
      state.live = undefined;
      state.config = Object.freeze({ ...state.config, hostFunctions: Object.freeze({}) });
      state.gasUsed = 0;
      state.executionMs = 0;
      state.settle();
      return ok(undefined);
    },

    snapshot(instance: SandboxInstance): Result<Uint8Array, SandboxError> {
      const checked = stateFor(instance, 'snapshot');
      if (!checked.ok) return checked;
      return err(
        sandboxError.snapshotError('snapshots are not supported yet (they arrive with @ri-sandbox/snapshot)'),
      );
    },

    restore(instance: SandboxInstance, snapshot: Uint8Array): Result<void, SandboxError> {
      const checked = stateFor(instance, 'restore');
      if (!checked.ok) return checked;
      if (!(snapshot instanceof Uint8Array))
        return err(sandboxError.snapshotError('a snapshot is a Uint8Array'));
      return err(
        sandboxError.snapshotError('snapshots are not supported yet (they arrive with @ri-sandbox/snapshot)'),
      );
    },

    getMetrics(instance: SandboxInstance): Result<ResourceMetrics, SandboxError> {
      const state = states.get(instance);
      if (state === undefined) return stateFor(instance, 'measure') as Result<never, SandboxError>;
      if (state.status === 'destroyed') return err(sandboxError.instanceDestroyed(state.id));
      return ok(state.measure());
    },
  };
}
