/**
 * What the sandbox keeps per instance, and the read-only handle its owner holds.
 */
import type {
  GuestMemory,
  InstanceStatus,
  ResourceMetrics,
  SandboxConfig,
  SandboxInstance,
  WasmValueType,
} from '@ri-sandbox/core';
import type { Pcg32 } from '@ri-sandbox/determinism';
import type { CompiledModule, ImportedFunctions } from '@ri-sandbox/loader';
import type { Meter } from '@ri-sandbox/metering';
import type { MemoryRange, SnapshotBinding, StateLayout } from '@ri-sandbox/snapshot';
import type { Capability } from './capability';
import type { AbortSignalBox } from './host-bridge';
import type { ContextSlot, IdleInstances, ImportsKey } from './idle-instances';

/** An exported function ready to be called as an action. */
export interface Action {
  readonly name: string;
  readonly fn: (...args: unknown[]) => unknown;
  /** The signature as text, for messages: `(i32, i32) -> i64`. */
  readonly signature: string;
  /** Parameter and result types, or `undefined` where one cannot cross to JavaScript as a number. */
  readonly params: readonly WasmValueType[] | undefined;
  readonly results: readonly WasmValueType[] | undefined;
  /**
   * The arguments of the direct call being made, one per parameter: filled by each call whose
   * payload needs no copy (see `fillDirectArguments`), so that it allocates no array of its own.
   */
  readonly args: unknown[];
}

/** What host functions receive as their context; `memory` follows the current WebAssembly instance. */
export interface HostContext {
  readonly instanceId: string;
  memory: GuestMemory | undefined;
}

/**
 * A module loaded in an instance, apart from its WebAssembly instance: what
 * survives a restore (which rebuilds the instance) and a suspension (which releases it).
 */
export interface LoadedModule {
  readonly compiled: CompiledModule;
  /** Where the instrumented module exposes its state, for snapshots. */
  readonly layout: StateLayout;
  /** Where the memory may hold something other than zeros. */
  readonly written: WrittenMemory;
  /** The module and configuration a snapshot of it is bound to: worked out at the first snapshot or restore. */
  readonly binding: () => SnapshotBinding;
  /** The host imports, bridged: the same for every WebAssembly instance of this load. */
  readonly functions: ImportedFunctions;
  readonly context: HostContext;
  /** Where the bridged host functions find {@link context} (a reusing load puts its own there). */
  readonly contextSlot: ContextSlot;
  /** The idle instances of this module this load's instance may join (none if the factory keeps none). */
  readonly idle: IdleInstances | undefined;
  /** What the module's host imports are bound to: a load with the same key may reuse the instance. */
  readonly importsKey: ImportsKey;
  /** Where this module's host functions record the failure that ends the current guest call. */
  readonly abort: AbortSignalBox;
  /** Gas and time accounting, attached to the current WebAssembly instance. */
  readonly meter: Meter;
  /** The guest's random generator (`__get_random`) and clock (`__get_time`). */
  readonly prng: Pcg32;
  readonly clock: { eventTimestamp: number };
  readonly maxCallDepth: number;
  /** What the module can reach besides its host functions (WASI, when the config asks for it). */
  readonly capabilities: readonly Capability[];
}

/** A loaded module and its live WebAssembly instance. */
export interface LiveModule extends LoadedModule {
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory | undefined;
  /** Actions already looked up, by export name. */
  readonly actions: Map<string, Action>;
  /** The instrumented call-depth counter. */
  readonly depth: WebAssembly.Global;
}

/**
 * Where an instance's memory may hold something other than zeros, as far as that is known (one
 * object per WebAssembly instance, so that copies of a {@link LiveModule} share it). A capture
 * then reads only there, and a restore clears only there, rather than every page of the memory.
 */
export interface WrittenMemory {
  /** Where the module's data segments write at instantiation (see `dataSegmentRanges`), if known before. */
  readonly atInstantiation: readonly MemoryRange[] | undefined;
  /**
   * Where it may now: known from the instance's instantiation (on a zeroed memory) or a state
   * applied to it until guest code next runs in it; `undefined` (anywhere) from then on.
   */
  now: readonly MemoryRange[] | undefined;
}

/** Everything of `live` but the WebAssembly instance and its memory: what a suspension keeps to rebuild them. */
export function withoutInstance(live: LiveModule): LoadedModule {
  const {
    compiled,
    layout,
    written,
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
    maxCallDepth,
    capabilities,
  } = live;
  return {
    compiled,
    layout,
    written,
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
    maxCallDepth,
    capabilities,
  };
}

/** A suspended instance: its module, and the snapshot that `resume` restores. */
export interface Suspended {
  readonly module: LoadedModule;
  readonly snapshot: Uint8Array;
}

/** Mutable state behind a {@link SandboxInstance}. */
export class InstanceState {
  status: InstanceStatus = 'created';
  live: LiveModule | undefined;
  suspended: Suspended | undefined;
  loading = false;
  gasUsed = 0;
  executionMs = 0;
  /**
   * What {@link settle} recorded: figures, not an object, so that an operation makes one metrics
   * object (the one it returns) and none of its caller's can change what the instance reports.
   */
  private settledMemoryBytes = 0;
  private settledGasUsed = 0;
  private settledExecutionMs = 0;
  private settledConfig: SandboxConfig;

  constructor(
    readonly id: string,
    public config: SandboxConfig,
    /** The sandbox factory that made it (see `createWasmSandbox`): another factory's methods refuse it. */
    readonly owner: object,
  ) {
    this.settledConfig = config;
  }

  /** Whether the instance has been destroyed (possibly by a host function during a call). */
  get destroyed(): boolean {
    return this.status === 'destroyed';
  }

  /** The live memory's buffer as last read (`memory.buffer` is a call into the engine). */
  private memoryView: { readonly memory: WebAssembly.Memory; readonly buffer: ArrayBuffer } | undefined;

  /** The live memory's size: growing detaches the buffer read before (its length is then 0), so it is read again. */
  private memoryBytes(): number {
    const memory = this.live?.memory;
    if (memory === undefined) return 0;
    let view = this.memoryView;
    if (view?.memory !== memory || view.buffer.byteLength === 0) {
      view = { memory, buffer: memory.buffer };
      this.memoryView = view;
    }
    return view.buffer.byteLength;
  }

  /**
   * Metrics now, with the live memory size: a new object, the caller's own (not frozen: freezing one
   * costs more than making it).
   */
  measure(): ResourceMetrics {
    return metricsOf(this.memoryBytes(), this.config, this.gasUsed, this.executionMs);
  }

  /** Records the metrics at the end of an operation, for {@link SandboxInstance.metrics}, and returns them. */
  settle(): ResourceMetrics {
    this.settledMemoryBytes = this.memoryBytes();
    this.settledGasUsed = this.gasUsed;
    this.settledExecutionMs = this.executionMs;
    this.settledConfig = this.config;
    return this.metrics;
  }

  /** The metrics {@link settle} recorded last: a new object, the caller's own. */
  get metrics(): ResourceMetrics {
    return metricsOf(
      this.settledMemoryBytes,
      this.settledConfig,
      this.settledGasUsed,
      this.settledExecutionMs,
    );
  }
}

function metricsOf(
  memoryUsedBytes: number,
  config: SandboxConfig,
  gasUsed: number,
  executionMs: number,
): ResourceMetrics {
  return {
    memoryUsedBytes,
    memoryLimitBytes: config.maxMemoryBytes,
    gasUsed,
    gasLimit: config.maxGas,
    executionMs,
    executionLimitMs: config.maxExecutionMs,
  };
}

/** The owner's view of an instance: read-only getters over the state. */
class InstanceHandle implements SandboxInstance {
  readonly #state: InstanceState;

  constructor(state: InstanceState) {
    this.#state = state;
  }

  /** The state behind `value` if it is a handle (a brand check: a proxy or a look-alike is not one). */
  static stateOf(value: unknown): InstanceState | undefined {
    return typeof value === 'object' && value !== null && #state in value ? value.#state : undefined;
  }

  get id(): string {
    return this.#state.id;
  }

  get config(): SandboxConfig {
    return this.#state.config;
  }

  get status(): InstanceStatus {
    return this.#state.status;
  }

  /** The metrics at the end of the last operation: a copy at each read, so that changing one changes nothing else. */
  get metrics(): ResourceMetrics {
    return this.#state.metrics;
  }

  toJSON(): { id: string; status: InstanceStatus; metrics: ResourceMetrics } {
    return { id: this.id, status: this.status, metrics: this.metrics };
  }
}

/** A new handle over `state`. */
export function createHandle(state: InstanceState): SandboxInstance {
  return Object.freeze(new InstanceHandle(state));
}

/**
 * The state behind a handle {@link createHandle} made, whichever factory owns it; `undefined` for
 * anything else. A private field finds it, where a map from handles to states cost two insertions at
 * every `create` and a look-up at every call.
 */
export function stateOf(handle: unknown): InstanceState | undefined {
  return InstanceHandle.stateOf(handle);
}
