/**
 * The four ways the spec runner runs each module:
 * - `raw`: as the engine takes it, the baseline;
 * - `metering`: through `@ri-sandbox/metering` alone (`instrument`, a `Meter`
 *   begun before instantiation so the start function is metered too);
 * - `chain`: through every transform a sandbox load applies (metering, call
 *   depth, NaN canonicalization, exposure of state; the determinism policy
 *   aside), with the start function run as the sandbox runs it: as an export,
 *   after instantiation, under the meter;
 * - `snapshot`: the chain, plus a snapshot round trip after each module is
 *   instantiated and after each action: its state is captured, encoded as
 *   WSNP, decoded, checked and applied to a fresh instance of the same
 *   module, and the run continues there.
 * Gas and time are unlimited (the watchdog catches a hang); the memory limit
 * is 4 GiB and the call-depth limit the sandbox's default.
 */
import {
  DEFAULT_CONFIG,
  MAX_WASM_PAGES,
  type WasmModule,
  decodeModule,
  encodeModule,
  type Limits,
} from '@ri-sandbox/core';
import { DEPTH_EXPORT } from '@ri-sandbox/determinism';
import { prepareModule } from '@ri-sandbox/loader';
import { Meter, type MeterLimits, instrument, resolveCostModel } from '@ri-sandbox/metering';
import {
  type MemoryBounds,
  type StateLayout,
  applyState,
  captureState,
  checkState,
  decodeSnapshot,
  encodeSnapshot,
} from '@ri-sandbox/snapshot';
import { type TransformOptions, instrumentForSandbox } from '../../packages/sandbox/src/transforms';

export type ModeName = 'raw' | 'metering' | 'chain' | 'snapshot';

/** Every mode, the baseline first. */
export const MODE_NAMES: readonly ModeName[] = ['raw', 'metering', 'chain', 'snapshot'];

/** A module as a mode compiled it. */
export interface CompiledSpecModule {
  readonly module: WebAssembly.Module;
  /** Where the chain exposed the module's state (chain modes only). */
  readonly layout: StateLayout | undefined;
  readonly memoryBounds: MemoryBounds | undefined;
}

/** An instance as a mode runs it; a snapshot round trip replaces `instance`. */
export interface SpecInstance {
  instance: WebAssembly.Instance;
  readonly compiled: CompiledSpecModule;
  readonly imports: WebAssembly.Imports;
  readonly meter: Meter | undefined;
  /** Set once the module is registered: other modules may hold its exports, so it stays where it is. */
  linked: boolean;
}

/** What became of a snapshot round trip. */
export type RoundTrip =
  | { readonly done: true }
  | { readonly done: false; readonly reason: string }
  | { readonly done: 'failed'; readonly reason: string };

/** How one mode compiles, instantiates and calls. */
export interface Mode {
  readonly name: ModeName;
  /** Whether the mode canonicalizes NaNs (a canonical NaN where the spec wants a specific one is then expected). */
  readonly canonicalNaNs: boolean;
  /** Compiles `bytes` as the mode runs them; throws what the engine or a transform throws. */
  readonly compile: (bytes: Uint8Array<ArrayBuffer>) => CompiledSpecModule;
  /** Instantiates, running the start function as the mode does; throws what the engine throws. */
  readonly instantiate: (compiled: CompiledSpecModule, imports: WebAssembly.Imports) => SpecInstance;
  /** Runs a top-level call the way the mode runs guest code. */
  readonly call: <T>(instances: Iterable<SpecInstance>, call: () => T) => T;
  /** After a call threw: why, if the mode stopped it on purpose (a limit of the sandbox's). */
  readonly stoppedBecause: (instances: Iterable<SpecInstance>) => string | undefined;
  /** Whether the mode refuses an invalid or malformed module, as it must. */
  readonly refuses: (bytes: Uint8Array<ArrayBuffer>) => boolean;
  /** A snapshot round trip of `instance`, for the mode that makes them. */
  readonly roundTrip?: (instance: SpecInstance) => RoundTrip;
}

const UNLIMITED: MeterLimits = { maxGas: Number.MAX_SAFE_INTEGER, maxExecutionMs: Infinity };
const MAX_CALL_DEPTH = DEFAULT_CONFIG.maxCallDepth;
const FOUR_GIB = MAX_WASM_PAGES * 65536;

const CHAIN: TransformOptions = {
  costs: (resolveCostModel(undefined) as { value: TransformOptions['costs'] }).value,
  memoryLimitPages: MAX_WASM_PAGES,
  memoryGrowFailure: 'trap',
  maxCallDepth: MAX_CALL_DEPTH,
  canonicalizeNaNs: true,
};

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** The memory a module has (defined or imported), as bounds for a snapshot check. */
function memoryBounds(module: WasmModule): MemoryBounds | undefined {
  const imported = module.imports.find((i) => i.descriptor.kind === 'memory')?.descriptor as
    { memory: Limits } | undefined;
  const limits = imported?.memory ?? module.memories[0];
  return limits === undefined
    ? undefined
    : { initialPages: limits.min, maximumPages: limits.max ?? MAX_WASM_PAGES };
}

const raw: Mode = {
  name: 'raw',
  canonicalNaNs: false,
  compile: (bytes) => ({ module: new WebAssembly.Module(bytes), layout: undefined, memoryBounds: undefined }),
  instantiate: (compiled, imports) => ({
    instance: new WebAssembly.Instance(compiled.module, imports),
    compiled,
    imports,
    meter: undefined,
    linked: false,
  }),
  call: (_instances, call) => call(),
  stoppedBecause: () => undefined,
  refuses: (bytes) => !WebAssembly.validate(bytes),
};

/** Instantiates with a meter begun first, so that a start function is metered as well. */
function meteredInstance(compiled: CompiledSpecModule, imports: WebAssembly.Imports): SpecInstance {
  const meter = new Meter();
  meter.begin(UNLIMITED);
  const withMeter = { ...imports, ...meter.imports };
  const instance = new WebAssembly.Instance(compiled.module, withMeter);
  meter.attach(instance);
  return { instance, compiled, imports: withMeter, meter, linked: false };
}

/** Begins every meter afresh (the sandbox begins its one before each call), and resets depth counters. */
function beginCalls(instances: Iterable<SpecInstance>): void {
  for (const live of instances) {
    live.meter?.begin(UNLIMITED);
    const depth = live.instance.exports[DEPTH_EXPORT];
    if (depth instanceof WebAssembly.Global) depth.value = 0;
  }
}

function limitStop(instances: Iterable<SpecInstance>): string | undefined {
  for (const live of instances) {
    const depth = live.instance.exports[DEPTH_EXPORT];
    if (depth instanceof WebAssembly.Global && (depth.value as number) > MAX_CALL_DEPTH)
      return `the call-depth limit (${MAX_CALL_DEPTH}) stopped the recursion`;
    if (live.meter?.stopError()?.code === 'MEMORY_EXCEEDED')
      return 'memory.grow past the 4 GiB limit stops with MEMORY_EXCEEDED, where the engine returns -1';
  }
  return undefined;
}

const metering: Mode = {
  name: 'metering',
  canonicalNaNs: false,
  compile: (bytes) => ({
    module: new WebAssembly.Module(unwrap(instrument(bytes)).bytes),
    layout: undefined,
    memoryBounds: undefined,
  }),
  instantiate: meteredInstance,
  call: (instances, call) => {
    beginCalls(instances);
    return call();
  },
  stoppedBecause: () => undefined,
  refuses: (bytes) => {
    const metered = instrument(bytes);
    return !metered.ok || !WebAssembly.validate(metered.value.bytes);
  },
};

function chainInstance(compiled: CompiledSpecModule, imports: WebAssembly.Imports): SpecInstance {
  const live = meteredInstance(compiled, imports);
  const start = compiled.layout?.start;
  if (start !== undefined) (live.instance.exports[start] as () => void)();
  return live;
}

const chain: Mode = {
  name: 'chain',
  canonicalNaNs: true,
  compile: (bytes) => {
    const decoded = decodeModule(bytes);
    const exposed = unwrap(instrumentForSandbox(decoded, CHAIN));
    return {
      module: new WebAssembly.Module(encodeModule(exposed.module)),
      layout: exposed.layout,
      memoryBounds: memoryBounds(decoded),
    };
  },
  instantiate: chainInstance,
  call: metering.call,
  stoppedBecause: limitStop,
  // Through the loader, with the chain as its transform: the sandbox's own path, where the input is
  // not validated (the transforms must refuse what their additions would make valid) and the engine
  // validates what it compiles.
  refuses: (bytes) => {
    const prepared = prepareModule(bytes, {
      maxMemoryBytes: FOUR_GIB,
      validateInput: false,
      transform: (module) => {
        const exposed = instrumentForSandbox(module, CHAIN);
        return exposed.ok ? { ok: true, value: exposed.value.module } : exposed;
      },
    });
    return prepared.ok
      ? !WebAssembly.validate(prepared.value.bytes)
      : prepared.error.code === 'INVALID_MODULE';
  },
};

const NO_BINDING = { moduleHash: new Uint8Array(32), configHash: new Uint8Array(32) };

/** Why a capture was refused, in a few words (the sandbox never gives a guest such references). */
function refusal(message: string): string {
  if (/host reference/.test(message)) return 'its state holds a host reference';
  if (/cannot name/.test(message)) return "its state holds another module's function";
  return message;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function roundTrip(live: SpecInstance): RoundTrip {
  const layout = live.compiled.layout as StateLayout;
  if (live.linked) return { done: false, reason: 'other modules link to its exports' };
  const image = captureState(live.instance, layout);
  if (!image.ok) return { done: false, reason: refusal(image.error.message) };
  try {
    const bytes = unwrap(encodeSnapshot({ ...image.value, binding: NO_BINDING, host: new Uint8Array() }));
    const decoded = unwrap(decodeSnapshot(bytes));
    const problem = checkState(layout, decoded, live.compiled.memoryBounds);
    if (problem !== undefined) throw new Error(`checkState: ${problem}`);
    const fresh = new WebAssembly.Instance(live.compiled.module, live.imports);
    unwrap(applyState(fresh, layout, decoded));
    // What was applied must read back the same, before the run goes on to show the rest.
    const again = unwrap(
      encodeSnapshot({ ...unwrap(captureState(fresh, layout)), binding: NO_BINDING, host: new Uint8Array() }),
    );
    if (!sameBytes(again, bytes))
      throw new Error("the restored instance's state differs from the captured state");
    live.meter?.attach(fresh);
    live.instance = fresh;
    return { done: true };
  } catch (error) {
    return { done: 'failed', reason: error instanceof Error ? error.message : String(error) };
  }
}

const snapshot: Mode = { ...chain, name: 'snapshot', roundTrip };

/** The mode called `name`. */
export const MODES: Readonly<Record<ModeName, Mode>> = { raw, metering, chain, snapshot };
