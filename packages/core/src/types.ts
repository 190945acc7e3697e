/**
 * The public contract of ri-sandbox: configuration, host functions, instances,
 * results and the seven-method {@link WasmSandbox}.
 */
import type { SandboxError } from './errors';
import type { Result } from './result';
import type { WasiConfig } from './wasi-config';

/** The WebAssembly value types that cross between host and guest. */
export type WasmValueType = 'i32' | 'i64' | 'f32' | 'f64';

/** A value crossing the boundary: `i64` is a `bigint`, the others are `number`s. */
export type WasmValue = number | bigint;

/** The JavaScript type of one WebAssembly value type. */
export type ValueOf<T extends WasmValueType> = T extends 'i64' ? bigint : number;

/** The JavaScript types of a list of WebAssembly value types. */
export type ValuesOf<T extends readonly WasmValueType[]> = { -readonly [K in keyof T]: ValueOf<T[K]> };

/** Anything a host function may return, when its results are not known statically. */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a handler without results returns nothing
export type HostResult = WasmValue | readonly WasmValue[] | void;

/** What a host function with results `R` returns: nothing, one value, or a tuple for multi-value. */
export type HostResultOf<R extends readonly WasmValueType[]> = number extends R['length']
  ? HostResult
  : R extends readonly []
    ? // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a handler without results returns nothing
      void
    : R extends readonly [infer Only extends WasmValueType]
      ? ValueOf<Only>
      : ValuesOf<R>;

/** Read and write access to the calling guest's linear memory, for host functions. */
export interface GuestMemory {
  /** Current size of linear memory in bytes. */
  readonly byteLength: number;
  /** A copy of `length` bytes at `pointer`. Throws `RangeError` when out of bounds. */
  read(pointer: number, length: number): Uint8Array;
  /** Copies `bytes` to `pointer`. Throws `RangeError` when out of bounds. */
  write(pointer: number, bytes: Uint8Array): void;
}

/** Passed to every host function call, after the WebAssembly arguments. */
export interface HostCallContext {
  /** The calling instance's id. */
  readonly instanceId: string;
  /** The guest's memory, or `undefined` if the module has none. */
  readonly memory: GuestMemory | undefined;
}

/** A function a module may import: where from, and its exact signature. */
export interface ImportSignature {
  /** The import module; default `env`. */
  readonly module?: string | undefined;
  readonly name: string;
  readonly params: readonly WasmValueType[];
  readonly results: readonly WasmValueType[];
}

/**
 * A function the host offers to guests, imported by them as `env.<name>` (or
 * `<module>.<name>` when it names its module). Arguments arrive typed by
 * `params` (`i64` as `bigint`), followed by a {@link HostCallContext}. A
 * handler that throws, or returns a value that does not match `results`
 * (anything but nothing, for no results), ends the execution with
 * `HOST_FUNCTION_ERROR`.
 *
 * @example
 * ```ts
 * const add = defineHostFunction({
 *   name: 'add',
 *   params: ['i32', 'i32'],
 *   results: ['i32'],
 *   handler: (a, b) => a + b,
 * });
 * ```
 */
export interface HostFunction<
  P extends readonly WasmValueType[] = readonly WasmValueType[],
  R extends readonly WasmValueType[] = readonly WasmValueType[],
> extends ImportSignature {
  readonly params: P;
  readonly results: R;
  handler(this: void, ...args: [...ValuesOf<P>, HostCallContext]): HostResultOf<R>;
}

/** Limits and inputs of one sandbox instance. Frozen once the instance is created. */
export interface SandboxConfig {
  /** Upper bound on linear memory, in bytes (rounded up to 64 KiB pages). Default 16 MiB. */
  readonly maxMemoryBytes: number;
  /** Gas available to each `execute`. Default 1,000,000. */
  readonly maxGas: number;
  /** Wall-clock budget of each `execute`, in milliseconds. Default 50. */
  readonly maxExecutionMs: number;
  /**
   * Host functions the guest may import, keyed by their `name` (or `module.name`
   * for one that names its module). Default `{}`.
   */
  readonly hostFunctions: Readonly<Record<string, HostFunction>>;
  /** Seed of the guest-visible pseudo-random generator. Default 0. */
  readonly deterministicSeed: number;
  /** The time the guest sees, in integral milliseconds since the epoch. Default `Date.now()` at creation. */
  readonly eventTimestamp: number;
  /**
   * Deepest call nesting allowed; one more is `WASM_TRAP { trapKind: 'stack_overflow' }`, at the same
   * depth and gas on every engine. Default 1000.
   */
  readonly maxCallDepth: number;
  /**
   * WASI preview 1 for this instance (`@ri-sandbox/wasi`): arguments,
   * environment, files, standard input and output limits. Without it, a
   * module that imports `wasi_snapshot_preview1` is refused. Default: none.
   */
  readonly wasi?: WasiConfig | undefined;
}

/** What `create` accepts: any subset of {@link SandboxConfig}; the rest takes defaults. */
export type SandboxConfigInput = Partial<SandboxConfig>;

/** Lifecycle of an instance. */
export type InstanceStatus = 'created' | 'loaded' | 'running' | 'suspended' | 'destroyed';

/** Resource usage of an instance against its limits. */
export interface ResourceMetrics {
  /** Current size of linear memory in bytes (0 without a memory, or once destroyed). */
  readonly memoryUsedBytes: number;
  readonly memoryLimitBytes: number;
  /** Gas used by the last `execute`. */
  readonly gasUsed: number;
  readonly gasLimit: number;
  /** Wall-clock duration of the last `execute`, in milliseconds. */
  readonly executionMs: number;
  readonly executionLimitMs: number;
}

/** A sandbox instance as its owner sees it. Read-only: change it through the {@link WasmSandbox}. */
export interface SandboxInstance {
  /** Deterministic per sandbox factory: `sandbox-0`, `sandbox-1`, ... */
  readonly id: string;
  readonly config: SandboxConfig;
  readonly status: InstanceStatus;
  /** Metrics as of the end of the last operation (see `getMetrics` for live memory). */
  readonly metrics: ResourceMetrics;
}

/** What a WASI guest wrote to its standard output and error during one operation. */
export interface ExecutionOutput {
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  /** Whether output past the limit was dropped (the guest's writes succeeded all the same). */
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
}

/** The outcome of `execute`. */
export type ExecutionResult =
  | {
      readonly ok: true;
      /**
       * The action's return value: `undefined`, a number, a bigint (i64), an array (multi-value),
       * or parsed JSON; for a WASI command's `_start`, its exit code (0 when `main` returns).
       */
      readonly value: unknown;
      readonly metrics: ResourceMetrics;
      readonly gasUsed: number;
      readonly durationMs: number;
      /** What a WASI guest wrote during this execution (an instance with `wasi` only). */
      readonly output?: ExecutionOutput;
    }
  | {
      readonly ok: false;
      readonly error: SandboxError;
      /** What a WASI guest wrote before it stopped (an instance with `wasi` only). */
      readonly output?: ExecutionOutput;
    };

/** One import of a loaded module, for audit. */
export interface ModuleImport {
  readonly module: string;
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

/** One export of a loaded module. */
export interface ModuleExport {
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

/** What `load` accepted: the module's imports and exports, and how its memory is bounded. */
export interface LoadedModuleInfo {
  readonly imports: readonly ModuleImport[];
  readonly exports: readonly ModuleExport[];
  readonly memory: {
    /** Whether the module imports `env.memory`, defines its own, or has none. */
    readonly source: 'imported' | 'defined' | 'none';
    /** Pages at instantiation. */
    readonly initialPages: number;
    /** The enforced maximum in pages: the module's own maximum clamped to `maxMemoryBytes`. */
    readonly maximumPages: number;
  };
  /** What a WASI guest wrote while it started (its start function, or a reactor's `_initialize`). */
  readonly output?: ExecutionOutput;
}

/** How {@link WasmSandbox.snapshot} writes its result. */
export interface SnapshotOptions {
  /**
   * A buffer of the caller's to write the snapshot into, when it is large enough: the result is then
   * `into.subarray(0, length)` (the bytes of `into` past it are left as they were). When it is too
   * small, a new buffer holds the snapshot, as without it; `result.buffer === into.buffer` tells which.
   * A host that snapshots often (every frame of a rollback game, every step of a replicated state
   * machine) spares an allocation per snapshot, and the page faults of the fresh memory one may bring.
   * It must not be a view of the instance's own memory (`INVALID_CONFIG`).
   */
  readonly into?: Uint8Array | undefined;
}

/**
 * The sandbox contract. Every method returns a {@link Result} (or an
 * {@link ExecutionResult}); none throws.
 */
export interface WasmSandbox {
  /** A new instance with `config` over the defaults; `INVALID_CONFIG` if a value is invalid. */
  create(config?: SandboxConfigInput): Result<SandboxInstance, SandboxError>;
  /** Validates, links and compiles `bytes` and instantiates it in `instance`. */
  load(
    instance: SandboxInstance,
    bytes: Uint8Array | ArrayBuffer,
  ): Promise<Result<LoadedModuleInfo, SandboxError>>;
  /** Calls the exported function `action` synchronously (see the README for payload modes). */
  execute(instance: SandboxInstance, action: string, payload?: unknown): ExecutionResult;
  /** Releases the instance's memory and host references. Idempotent. */
  destroy(instance: SandboxInstance): Result<void, SandboxError>;
  /**
   * Captures the instance's complete state (memory, every mutable global, tables
   * the module can change, PRNG, clock, metrics) as a WSNP snapshot. Allowed on a
   * `loaded` or `suspended` instance. With `options.into`, it is written there if
   * it fits (see {@link SnapshotOptions}).
   */
  snapshot(instance: SandboxInstance, options?: SnapshotOptions): Result<Uint8Array, SandboxError>;
  /**
   * Puts the instance back in the state `snapshot` captured, which must be of the
   * same module and configuration; the instance is then `loaded`. A refused
   * snapshot (`SNAPSHOT_ERROR` with the reason) leaves the instance unchanged.
   */
  restore(instance: SandboxInstance, snapshot: Uint8Array): Result<void, SandboxError>;
  /** Current metrics, with live memory usage. */
  getMetrics(instance: SandboxInstance): Result<ResourceMetrics, SandboxError>;
}

/**
 * A {@link WasmSandbox} that can also park instances: `suspend` snapshots an
 * instance and releases its WebAssembly instance and memory (status
 * `suspended`, memory counted as 0); `resume` restores it.
 */
export interface SuspendingSandbox extends WasmSandbox {
  /** Snapshots `instance` and releases its WebAssembly instance and memory. Idempotent. */
  suspend(instance: SandboxInstance): Result<void, SandboxError>;
  /** Rebuilds a suspended instance from its snapshot; it is then `loaded`. */
  resume(instance: SandboxInstance): Result<void, SandboxError>;
  /**
   * The files of a WASI instance's virtual file system (`config.wasi`), by
   * absolute guest path, as they are now: after a run, what the guest wrote.
   */
  readFiles(instance: SandboxInstance): Result<Readonly<Record<string, Uint8Array>>, SandboxError>;
  /**
   * Replaces the whole virtual file system of a loaded WASI instance (absolute
   * guest paths to bytes or text), for its next execution; `INVALID_CONFIG`
   * naming a bad path, and nothing changed.
   */
  writeFiles(
    instance: SandboxInstance,
    files: Readonly<Record<string, Uint8Array | string>>,
  ): Result<void, SandboxError>;
}
