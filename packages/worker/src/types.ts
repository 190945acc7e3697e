/**
 * The worker sandbox's contract: the sandbox's methods, each answered as a
 * Promise, for instances that live in worker threads.
 */
import type {
  ExecutionResult,
  InstanceStatus,
  LoadedModuleInfo,
  ResourceMetrics,
  Result,
  SandboxConfig,
  SandboxConfigInput,
  SandboxError,
  SnapshotOptions,
} from '@ri-sandbox/core';
import type { SandboxOptions } from '@ri-sandbox/sandbox';

/** An instance's configuration as its worker resolved it; host functions are named, not given. */
export type WorkerConfig = Omit<SandboxConfig, 'hostFunctions'> & {
  /** The names (keys) of the host functions module's functions this instance may import. */
  readonly hostFunctions: readonly string[];
};

/** What `create` accepts: any subset of {@link WorkerConfig}; the rest takes defaults. */
export type WorkerConfigInput = Omit<SandboxConfigInput, 'hostFunctions'> & {
  /** Names of the host functions module's functions to offer; default all of them. */
  readonly hostFunctions?: readonly string[];
};

/** The caller's handle on an instance in a worker; its fields follow each answered operation. */
export interface WorkerInstance {
  /** `sandbox-0`, `sandbox-1`, ... per worker sandbox. */
  readonly id: string;
  readonly config: WorkerConfig;
  readonly status: InstanceStatus;
  readonly metrics: ResourceMetrics;
  /** The index of the worker holding the instance (`undefined` while it is suspended or gone). */
  readonly worker: number | undefined;
}

/** What becomes of the instances of a worker that was terminated or crashed. */
export type Recovery =
  /** They are lost: every later call answers `INSTANCE_DESTROYED` with the reason. */
  | 'none'
  /**
   * Each is rebuilt in the new worker from its module and its last snapshot
   * (the last `snapshot`, `restore` or `suspend`); one without a snapshot is lost.
   */
  | 'last-snapshot';

/** Options of {@link WorkerSandbox}: the pool's, and the sandbox options every worker uses. */
export interface WorkerSandboxOptions extends Pick<
  SandboxOptions,
  'costs' | 'memoryGrowFailure' | 'canonicalizeNaNs' | 'reuseMemories'
> {
  /** Workers in the pool. Default: the number of cores (`navigator.hardwareConcurrency`), at least 1. */
  readonly workers?: number;
  /**
   * A module every worker imports (a URL or, in Node, a specifier or file URL), whose default
   * export is the host functions: an object keyed by name, or an array. They run in the worker,
   * next to the guest's memory. Default: none.
   */
  readonly hostFunctions?: string | URL;
  /**
   * A module every worker imports, like `hostFunctions`, whose default export is a store of
   * prepared modules (`createWasmSandbox`'s `preparedModules`): what one worker's load made of a
   * module, workers started later (a recovery, another pool, another process) compile instead of
   * transforming the module again. A worker whose store cannot be imported, or is not a store,
   * answers every call with `INVALID_CONFIG`. Default: none.
   */
  readonly preparedModules?: string | URL;
  /**
   * How long past its `maxExecutionMs` an `execute` may run before its worker is terminated
   * (a host function that blocks cannot be stopped otherwise). Default 100 ms.
   */
  readonly graceMs?: number;
  /** What happens to a lost worker's instances. Default `'none'`. */
  readonly recovery?: Recovery;
  /** The worker script. Default: the one this package ships, next to this module. */
  readonly workerUrl?: string | URL;
  /**
   * Where memory can be shared with workers (Node; browsers when cross-origin isolated), an
   * `execute` or `getMetrics` whose call and reply fit in shared memory as plain data goes through
   * it instead of a message, and the caller spins for its reply up to this many microseconds
   * (only while the worker's recent calls answered that fast) before it waits for a message, which
   * blocks nothing. A quick call then costs a few microseconds of round trip instead of a
   * message's tens. `0` turns the shared channel off: messages only. Default 50, at most
   * 1,000,000 (a second: the caller's thread does nothing else while it spins).
   */
  readonly replySpinMicroseconds?: number;
}

/**
 * `WasmSandbox` and its suspending extension, each operation answered as a
 * Promise, the instances in worker threads. Operations on one instance run in
 * the order they were called; operations on instances in different workers
 * run in parallel.
 */
export interface WorkerSandbox {
  create(config?: WorkerConfigInput): Promise<Result<WorkerInstance, SandboxError>>;
  load(
    instance: WorkerInstance,
    bytes: Uint8Array | ArrayBuffer,
  ): Promise<Result<LoadedModuleInfo, SandboxError>>;
  execute(instance: WorkerInstance, action: string, payload?: unknown): Promise<ExecutionResult>;
  destroy(instance: WorkerInstance): Promise<Result<void, SandboxError>>;
  /**
   * With `options.into`, the snapshot is copied there if it fits (see `SnapshotOptions`): it crosses from
   * the worker in a buffer of its own, so this spares the caller nothing but keeps the calls alike.
   */
  snapshot(instance: WorkerInstance, options?: SnapshotOptions): Promise<Result<Uint8Array, SandboxError>>;
  restore(instance: WorkerInstance, snapshot: Uint8Array): Promise<Result<void, SandboxError>>;
  getMetrics(instance: WorkerInstance): Promise<Result<ResourceMetrics, SandboxError>>;
  /** Snapshots the instance and frees its place in its worker; `resume` may put it in another. */
  suspend(instance: WorkerInstance): Promise<Result<void, SandboxError>>;
  /** Rebuilds a suspended instance in the worker with the fewest instances. */
  resume(instance: WorkerInstance): Promise<Result<void, SandboxError>>;
  readFiles(instance: WorkerInstance): Promise<Result<Readonly<Record<string, Uint8Array>>, SandboxError>>;
  writeFiles(
    instance: WorkerInstance,
    files: Readonly<Record<string, Uint8Array | string>>,
  ): Promise<Result<void, SandboxError>>;
  /**
   * Terminates every worker. Calls in flight or waiting answer `INSTANCE_DESTROYED` (reason: closed),
   * and so does every later call.
   */
  close(): Promise<void>;
}
