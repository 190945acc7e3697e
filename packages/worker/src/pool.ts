/**
 * The pool, on the caller's thread: places instances in workers, sends each
 * operation to its instance's worker and answers it when the worker does.
 * One operation is in flight per worker at a time (so its deadline is known),
 * operations on one instance keep their order, and a worker that blows an
 * execution's deadline or dies is replaced, its instances restored from their
 * last snapshots or reported lost, never silently dropped.
 */
import {
  type ExecutionResult,
  type LoadedModuleInfo,
  type ResourceMetrics,
  type Result,
  type SandboxError,
  SandboxOptionsError,
  err,
  ok,
  sandboxError,
  snapshotCopy,
  snapshotInto,
  thrownReason,
} from '@ri-sandbox/core';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { BY_MESSAGE, CallerChannel, canShareMemory } from './channel';
import {
  type FromWorker,
  type InstanceState,
  type Operation,
  type PortableOptions,
  QUICK_OPERATIONS,
  type ReplyMessage,
  type ToWorker,
} from './protocol';
import type {
  WorkerConfig,
  WorkerConfigInput,
  WorkerInstance,
  WorkerSandbox,
  WorkerSandboxOptions,
} from './types';

/** A started worker, as the pool sees it, whatever runs it (Node's worker_threads, a Web Worker). */
export interface WorkerHandle {
  send(message: ToWorker, transfer: readonly ArrayBuffer[]): void;
  /** `failed` is called once if the worker dies by itself (an error it did not catch, an exit). */
  listen(received: (message: FromWorker) => void, failed: (reason: string) => void): void;
  terminate(): void;
  /** Told whether the worker has work: a Node worker keeps the process alive only then. */
  busy?(busy: boolean): void;
  /** Whether the worker can wait on shared memory (a real thread: `Atomics.wait` would block the caller's own). */
  readonly sharesMemory?: boolean;
}

/** Starts one worker running the package's worker script at `url`. */
export type SpawnWorker = (url: string | URL) => WorkerHandle;

/** Default time past `maxExecutionMs` before a worker is terminated. */
export const DEFAULT_GRACE_MS = 100;

/** Default time the caller spins for a quick call's reply on the shared channel. */
export const DEFAULT_REPLY_SPIN_MICROSECONDS = 50;

/** The longest spin allowed: the caller's thread does nothing else meanwhile (not even a hard kill). */
const MAX_REPLY_SPIN_MICROSECONDS = 1_000_000;

/** The longest delay a timer takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Answer = Result<unknown, SandboxError> & { readonly [extra: string]: unknown };

interface Task {
  readonly op: Operation;
  readonly record: InstanceRecord;
  readonly args: readonly unknown[];
  readonly transfer: readonly ArrayBuffer[];
  readonly resolve: (answer: Answer) => void;
}

interface InFlight {
  readonly task: Task;
  readonly id: number;
  readonly sentAt: number;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
}

interface Slot {
  readonly index: number;
  handle: WorkerHandle;
  ready: boolean;
  initError: SandboxError | undefined;
  queue: Task[];
  current: InFlight | undefined;
  /** What the worker was last told about having work. */
  busy: boolean;
  readonly instances: Set<InstanceRecord>;
  /** The quick channel to the worker, if memory can be shared with it. */
  channel: CallerChannel | undefined;
  /** How long the last quick call ran (ms): the caller spins only after quick ones. */
  lastCallMs: number;
}

/** The caller's handle, with fields the pool updates. */
interface MutableInstance {
  id: string;
  config: WorkerConfig;
  status: WorkerInstance['status'];
  metrics: ResourceMetrics;
  worker: number | undefined;
}

interface InstanceRecord {
  readonly handle: MutableInstance;
  slot: Slot | undefined;
  /** A copy of the module last loaded: to rebuild the instance in another worker. */
  module: Uint8Array | undefined;
  /** The last snapshot taken, restored or suspended to (kept when recovery needs it, or while suspended). */
  saved: Uint8Array | undefined;
  /** Why the instance is gone, when it is. */
  gone: string | undefined;
  /** Operations on this instance, in order. */
  chain: Promise<unknown>;
  /** While the instance is being rebuilt in a new worker: operations wait for it. */
  rebuilding: Promise<unknown> | undefined;
}

const CLOSED = 'the worker sandbox was closed';

/** Structured-clone-safe sandbox options, checked here as `createWasmSandbox` checks them. */
function portableOptions(options: WorkerSandboxOptions): PortableOptions {
  const { costs, memoryGrowFailure, canonicalizeNaNs, reuseMemories } = options;
  const portable = Object.fromEntries(
    Object.entries({ costs, memoryGrowFailure, canonicalizeNaNs, reuseMemories }).filter(
      ([, v]) => v !== undefined,
    ),
  );
  createWasmSandbox(portable); // throws SandboxOptionsError naming a bad option
  return portable;
}

/**
 * The options, read once into an object of the pool's own; `SandboxOptionsError` if reading them
 * throws (a getter, a proxy), as `createWasmSandbox` says.
 */
function readOptions(options: WorkerSandboxOptions): WorkerSandboxOptions {
  try {
    return { ...options };
  } catch (error) {
    const reason = `reading them threw: ${thrownReason(error)}`;
    throw new SandboxOptionsError(sandboxError.invalidConfig('options', reason));
  }
}

/** Throws the factory's error for a bad option, as `createWasmSandbox` does. */
function invalidOption(name: string, reason: string, value: unknown): never {
  const shown =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'number'
        ? String(value)
        : typeof value;
  throw new SandboxOptionsError(sandboxError.invalidConfig(name, `${reason}, got ${shown}`));
}

/** A module option (every worker imports it) as a specifier, if it is a URL or one. */
function moduleOption(name: string, value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string' && !(value instanceof URL))
    invalidOption(name, 'must be the URL or specifier of a module', value);
  return value === undefined ? undefined : String(value);
}

function integerOption(
  name: string,
  value: unknown,
  fallback: number,
  minimum: number,
  maximum = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum)
    invalidOption(
      name,
      maximum === Number.MAX_SAFE_INTEGER
        ? `must be an integer of at least ${minimum}`
        : `must be an integer from ${minimum} to ${maximum}`,
      value,
    );
  return value;
}

/**
 * A {@link WorkerSandbox} over workers `spawn` starts with the script at `url`. The
 * entry points (`createWorkerSandbox` of this package, and of `@ri-sandbox/worker/node`)
 * call it with the platform's workers; call it yourself for another kind.
 */
export function createPool(
  spawn: SpawnWorker,
  url: string | URL,
  given: WorkerSandboxOptions,
  defaultWorkers: number,
): WorkerSandbox {
  const options = readOptions(given);
  const sandboxOptions = portableOptions(options);
  const workers = integerOption('workers', options.workers, Math.max(1, defaultWorkers), 1);
  const graceMs = integerOption('graceMs', options.graceMs, DEFAULT_GRACE_MS, 0);
  const spinMicroseconds = integerOption(
    'replySpinMicroseconds',
    options.replySpinMicroseconds,
    DEFAULT_REPLY_SPIN_MICROSECONDS,
    0,
    MAX_REPLY_SPIN_MICROSECONDS,
  );
  const recovery = (options.recovery as unknown) ?? 'none';
  if (recovery !== 'none' && recovery !== 'last-snapshot')
    invalidOption('recovery', "must be 'none' or 'last-snapshot'", recovery);
  const hostFunctions = moduleOption('hostFunctions', options.hostFunctions);
  const preparedModules = moduleOption('preparedModules', options.preparedModules);
  const records = new WeakMap<object, InstanceRecord>();
  let nextInstance = 0;
  let nextCall = 0;
  let closed = false;

  function start(slot: Slot): void {
    const handle = spawn(url);
    slot.handle = handle;
    slot.busy = false;
    slot.ready = false;
    slot.initError = undefined;
    slot.channel =
      spinMicroseconds > 0 && handle.sharesMemory === true && canShareMemory()
        ? new CallerChannel(spinMicroseconds)
        : undefined;
    slot.lastCallMs = 0;
    handle.listen(
      (message) => {
        if (slot.handle === handle) received(slot, message);
      },
      (reason) => {
        if (slot.handle === handle && !closed) lose(slot, { kind: 'crash', reason });
      },
    );
    handle.send(
      {
        kind: 'init',
        options: sandboxOptions,
        hostFunctions,
        preparedModules,
        channel: slot.channel?.buffer,
      },
      [],
    );
  }

  const slots: Slot[] = Array.from({ length: workers }, (_, index) => {
    const slot: Slot = {
      index,
      handle: undefined as unknown as WorkerHandle,
      ready: false,
      initError: undefined,
      queue: [],
      current: undefined,
      busy: false,
      instances: new Set(),
      channel: undefined,
      lastCallMs: 0,
    };
    start(slot);
    return slot;
  });

  function update(record: InstanceRecord, state: InstanceState | undefined, result: Answer): void {
    if (state === undefined) return;
    const { handle } = record;
    handle.status = state.status;
    // A destroyed copy's metrics and config are emptied: the handle keeps the last real ones
    // (which a suspended instance's resume rebuilds it with).
    if (state.status === 'destroyed') return;
    handle.metrics = state.metrics ?? (result as { metrics?: ResourceMetrics }).metrics ?? handle.metrics;
    if (state.config !== undefined) handle.config = state.config as WorkerConfig;
  }

  /** Sends the next waiting task of `slot`, if it is free. */
  function pump(slot: Slot): void {
    send(slot);
    const busy = slot.current !== undefined || slot.queue.length > 0;
    if (busy !== slot.busy) {
      slot.busy = busy;
      slot.handle.busy?.(busy);
    }
  }

  function send(slot: Slot): void {
    while (slot.ready && slot.current === undefined) {
      const task = slot.queue.shift();
      if (task === undefined) return;
      if (slot.initError !== undefined) {
        task.resolve(err(slot.initError));
        continue;
      }
      if (task.record.gone !== undefined) {
        task.resolve(err(sandboxError.instanceLost(task.record.handle.id, task.record.gone)));
        continue;
      }
      const id = nextCall++;
      const limit = task.record.handle.config.maxExecutionMs;
      // Timers cannot wait longer than 2^31 - 1 ms (about 24.8 days): past that, no hard kill.
      const timer =
        task.op === 'execute' && limit + graceMs <= MAX_TIMER_MS
          ? setTimeout(() => {
              lose(slot, { kind: 'timeout', limit });
            }, limit + graceMs)
          : undefined;
      slot.current = { task, id, sentAt: performance.now(), timer };
      const message = {
        kind: 'call',
        id,
        op: task.op,
        instance: task.record.handle.id,
        args: task.args,
      } as const;
      if (sendQuick(slot, message, task.transfer)) continue;
      try {
        slot.handle.send(message, task.transfer);
        slot.channel?.ring();
      } catch (error) {
        // Something structured clone cannot carry (a function, say): the worker never saw the call.
        clearTimeout(timer);
        slot.current = undefined;
        const reason = `cannot be sent to a worker: ${thrownReason(error)}`;
        task.resolve(
          err(
            task.op === 'create'
              ? sandboxError.invalidConfig('config', reason)
              : sandboxError.invalidPayload(reason),
          ),
        );
      }
    }
  }

  /**
   * Sends `message` through `slot`'s shared channel if it can go there, and
   * answers it at once if the reply comes within the spin (else a message
   * brings it). `false` if it must go as a message.
   */
  function sendQuick(
    slot: Slot,
    message: ToWorker & { kind: 'call' },
    transfer: readonly ArrayBuffer[],
  ): boolean {
    const { channel } = slot;
    if (channel === undefined || transfer.length > 0 || !QUICK_OPERATIONS.has(message.op)) return false;
    if (!channel.call(message)) return false;
    const reply = channel.reply(slot.lastCallMs * 1000 <= spinMicroseconds);
    if (reply !== BY_MESSAGE) answer(slot, reply as ReplyMessage);
    return true;
  }

  /** Answers `slot`'s call in flight with `reply`, if it is its reply. */
  function answer(slot: Slot, reply: ReplyMessage): void {
    const current = slot.current;
    if (current?.id !== reply.id) return;
    clearTimeout(current.timer);
    slot.current = undefined;
    // How long a quick call ran in the worker (an execution's own duration; else the round trip):
    // the next one is spun for only if this one was quick, whichever way its reply came.
    if (QUICK_OPERATIONS.has(current.task.op)) {
      const { durationMs } = reply.result;
      slot.lastCallMs = typeof durationMs === 'number' ? durationMs : performance.now() - current.sentAt;
    }
    update(current.task.record, reply.state, reply.result);
    current.task.resolve(reply.result);
  }

  function received(slot: Slot, message: FromWorker): void {
    if (message.kind === 'ready') {
      slot.ready = true;
      slot.initError = message.error;
      pump(slot);
      return;
    }
    answer(slot, message);
    pump(slot);
  }

  /** Queues `op` on `record`'s worker and answers with the worker's result. */
  function dispatch(
    slot: Slot,
    record: InstanceRecord,
    op: Operation,
    args: readonly unknown[] = [],
    transfer: readonly ArrayBuffer[] = [],
  ): Promise<Answer> {
    return new Promise((resolve) => {
      slot.queue.push({ op, record, args, transfer, resolve });
      pump(slot);
    });
  }

  /** The free-est worker: the fewest instances, then the shortest queue. */
  function leastLoaded(): Slot {
    return slots.reduce((best, slot) =>
      slot.instances.size < best.instances.size ||
      (slot.instances.size === best.instances.size && slot.queue.length < best.queue.length)
        ? slot
        : best,
    );
  }

  function place(record: InstanceRecord, slot: Slot | undefined): void {
    record.slot?.instances.delete(record);
    record.slot = slot;
    slot?.instances.add(record);
    record.handle.worker = slot?.index;
  }

  /** Marks `record` destroyed and lets go of what it kept. */
  function release(record: InstanceRecord): void {
    place(record, undefined);
    record.handle.status = 'destroyed';
    record.module = undefined;
    record.saved = undefined;
  }

  /** Marks `record` lost, for `reason`: every later call on it says so. */
  function forget(record: InstanceRecord, reason: string): void {
    record.gone = reason;
    release(record);
  }

  /** Creates `record`'s instance in `slot` again, with its module and `snapshot`. */
  async function rebuild(record: InstanceRecord, slot: Slot, snapshot: Uint8Array): Promise<Answer> {
    place(record, slot);
    const steps: [Operation, unknown[]][] = [
      ['create', [record.handle.config]],
      ['load', [record.module]],
      ['restore', [snapshot]],
    ];
    for (const [op, args] of steps) {
      const done = await dispatch(slot, record, op, args);
      if (!done.ok) {
        if (op !== 'create') await dispatch(slot, record, 'destroy');
        return done;
      }
    }
    return ok(undefined);
  }

  type Loss =
    | { readonly kind: 'timeout'; readonly limit: number }
    | { readonly kind: 'crash'; readonly reason: string };

  /** Replaces `slot`'s worker, and answers for everything it held. */
  function lose(slot: Slot, loss: Loss): void {
    const inFlight = slot.current;
    clearTimeout(inFlight?.timer);
    slot.handle.terminate();
    const waiting = slot.queue;
    const victims = [...slot.instances];
    slot.queue = [];
    slot.current = undefined;
    start(slot);
    const why =
      loss.kind === 'timeout'
        ? `its worker was terminated: an execution did not return within its ${loss.limit} ms and the ${graceMs} ms grace`
        : `its worker crashed (${loss.reason})`;
    const outcomes = new Map<InstanceRecord, Promise<boolean>>();
    for (const record of victims) {
      const { saved, module } = record;
      if (recovery === 'last-snapshot' && saved !== undefined && module !== undefined) {
        const outcome = rebuild(record, slot, saved).then((rebuilt) => {
          if (!rebuilt.ok) forget(record, `${why}, and it could not be restored: ${rebuilt.error.message}`);
          record.rebuilding = undefined;
          return rebuilt.ok;
        });
        record.rebuilding = outcome;
        outcomes.set(record, outcome);
      } else {
        forget(record, why);
        outcomes.set(record, Promise.resolve(false));
      }
    }
    // Calls that were waiting go back in line once the rebuilds are done (pump answers those of lost instances).
    void Promise.all(outcomes.values()).then(() => {
      slot.queue.push(...waiting);
      pump(slot);
    });
    if (inFlight !== undefined) {
      const { task, sentAt } = inFlight;
      void (outcomes.get(task.record) ?? Promise.resolve(false)).then((recovered) => {
        task.resolve(
          err(
            loss.kind === 'timeout'
              ? sandboxError.hardKill(performance.now() - sentAt, loss.limit, recovered)
              : sandboxError.workerCrashed(task.record.handle.id, loss.reason, recovered),
          ),
        );
      });
    }
  }

  /** Runs `operation` after every earlier operation on the same instance. */
  function inOrder<T>(record: InstanceRecord, operation: () => Promise<T>): Promise<T> {
    const run = async () => {
      await record.rebuilding;
      return operation();
    };
    const next = record.chain.then(run, run);
    record.chain = next.catch(() => undefined);
    return next;
  }

  /** The record of `instance`, or why an operation on it cannot proceed. */
  function usable(
    instance: unknown,
    operation: string,
    suspendedToo = false,
  ): Result<InstanceRecord, SandboxError> {
    const record = typeof instance === 'object' && instance !== null ? records.get(instance) : undefined;
    if (record === undefined) return err(sandboxError.notAnInstance(operation, instance));
    const { handle } = record;
    if (record.gone !== undefined) return err(sandboxError.instanceLost(handle.id, record.gone));
    if (handle.status === 'destroyed') return err(sandboxError.instanceDestroyed(handle.id));
    if (handle.status === 'suspended' && !suspendedToo)
      return err(sandboxError.invalidState(handle.id, handle.status, operation, 'resume it first'));
    return ok(record);
  }

  /** `operation` on `instance`'s worker, in order, as one of the public methods. */
  function forward(
    instance: unknown,
    op: Operation,
    args: readonly unknown[] = [],
    transfer: readonly ArrayBuffer[] = [],
  ): Promise<Answer> {
    const checked = usable(instance, op);
    if (!checked.ok) return Promise.resolve(checked);
    const record = checked.value;
    return inOrder(record, () => {
      // Checked again in line: an earlier operation may have destroyed or lost it.
      const still = usable(instance, op);
      if (!still.ok || record.slot === undefined)
        return Promise.resolve(still.ok ? err(lostError(record)) : still);
      return dispatch(record.slot, record, op, args, transfer);
    });
  }

  function lostError(record: InstanceRecord): SandboxError {
    return sandboxError.instanceLost(record.handle.id, record.gone ?? CLOSED);
  }

  const keep = (bytes: Uint8Array): Uint8Array | undefined =>
    recovery === 'last-snapshot' ? bytes.slice() : undefined;

  const pool: WorkerSandbox = {
    async create(config: WorkerConfigInput = {}) {
      if (closed) return err(sandboxError.invalidState('', 'destroyed', 'create', CLOSED));
      const names: unknown = (config as { hostFunctions?: unknown } | null)?.hostFunctions;
      if (names !== undefined && !(Array.isArray(names) && names.every((n) => typeof n === 'string')))
        return err(
          sandboxError.invalidConfig(
            'hostFunctions',
            'functions cannot cross to a worker: give the pool a hostFunctions module, and name its functions here',
          ),
        );
      const slot = leastLoaded();
      const id = `sandbox-${nextInstance++}`;
      const handle: MutableInstance = {
        id,
        config: config as WorkerConfig,
        status: 'created',
        metrics: {
          memoryUsedBytes: 0,
          memoryLimitBytes: 0,
          gasUsed: 0,
          gasLimit: 0,
          executionMs: 0,
          executionLimitMs: 0,
        },
        worker: slot.index,
      };
      const record: InstanceRecord = {
        handle,
        slot,
        module: undefined,
        saved: undefined,
        gone: undefined,
        chain: Promise.resolve(),
        rebuilding: undefined,
      };
      slot.instances.add(record);
      const created = await dispatch(slot, record, 'create', [config]);
      if (!created.ok) {
        place(record, undefined);
        return created;
      }
      records.set(handle, record);
      return ok(handle as WorkerInstance);
    },

    async load(instance, bytes) {
      const result = await forward(instance, 'load', [bytes]);
      const record = records.get(instance);
      if (result.ok && record !== undefined) {
        record.module = bytes instanceof Uint8Array ? bytes.slice() : new Uint8Array(bytes.slice(0));
        record.saved = undefined;
      }
      return result as Result<LoadedModuleInfo, SandboxError>;
    },

    execute: (instance, action, payload) =>
      forward(instance, 'execute', [action, payload]) as Promise<ExecutionResult>,

    async destroy(instance) {
      const record = typeof instance === 'object' ? records.get(instance) : undefined;
      if (record !== undefined && (record.handle.status === 'destroyed' || record.gone !== undefined))
        return ok(undefined);
      if (record?.handle.status === 'suspended') {
        release(record);
        return ok(undefined);
      }
      const result = await forward(instance, 'destroy');
      if (result.ok && record !== undefined) release(record);
      return result as Result<void, SandboxError>;
    },

    async snapshot(instance, options) {
      // The instance is checked before the options, as the sandbox in this thread does.
      const checked = usable(instance, 'snapshot');
      if (!checked.ok) return checked;
      const into = snapshotInto(options);
      if (!into.ok) return into;
      const result = (await forward(instance, 'snapshot')) as Result<Uint8Array, SandboxError>;
      const record = records.get(instance);
      if (result.ok && record !== undefined) record.saved = keep(result.value);
      return result.ok && into.value !== undefined ? ok(snapshotCopy(result.value, into.value)) : result;
    },

    async restore(instance, snapshot) {
      const result = (await forward(instance, 'restore', [snapshot])) as Result<void, SandboxError>;
      const record = records.get(instance);
      if (result.ok && record !== undefined) record.saved = keep(snapshot);
      return result;
    },

    async getMetrics(instance) {
      const checked = usable(instance, 'getMetrics', true);
      if (checked.ok && checked.value.handle.status === 'suspended') return ok(checked.value.handle.metrics);
      return (await forward(instance, 'getMetrics')) as Result<ResourceMetrics, SandboxError>;
    },

    readFiles: (instance) =>
      forward(instance, 'readFiles') as Promise<Result<Readonly<Record<string, Uint8Array>>, SandboxError>>,

    writeFiles: (instance, files) =>
      forward(instance, 'writeFiles', [files]) as Promise<Result<void, SandboxError>>,

    suspend(instance) {
      const checked = usable(instance, 'suspend', true);
      if (!checked.ok) return Promise.resolve(checked);
      const record = checked.value;
      return inOrder(record, async (): Promise<Result<void, SandboxError>> => {
        const { handle, slot } = record;
        if (handle.status === 'suspended') return ok(undefined);
        if (slot === undefined) return err(lostError(record));
        if (handle.status !== 'loaded' || record.module === undefined)
          return err(sandboxError.invalidState(handle.id, handle.status, 'suspend', 'load a module first'));
        const snapshot = await dispatch(slot, record, 'snapshot');
        if (!snapshot.ok) return snapshot;
        const destroyed = await dispatch(slot, record, 'destroy');
        if (!destroyed.ok) return destroyed;
        record.saved = snapshot.value as Uint8Array;
        place(record, undefined);
        handle.status = 'suspended';
        return ok(undefined);
      });
    },

    resume(instance) {
      const checked = usable(instance, 'resume', true);
      if (!checked.ok) return Promise.resolve(checked);
      const record = checked.value;
      return inOrder(record, async (): Promise<Result<void, SandboxError>> => {
        const { handle, saved } = record;
        // As the sandbox answers: resuming what is not suspended is a mistake, not nothing to do.
        if (handle.status !== 'suspended')
          return err(sandboxError.invalidState(handle.id, handle.status, 'resume', 'it is not suspended'));
        if (closed) return err(lostError(record));
        const rebuilt = await rebuild(record, leastLoaded(), saved as Uint8Array);
        if (!rebuilt.ok) {
          place(record, undefined);
          handle.status = 'suspended';
          return rebuilt;
        }
        record.saved = keep(saved as Uint8Array);
        return ok(undefined);
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const slot of slots) {
        clearTimeout(slot.current?.timer);
        slot.handle.terminate();
        const pending = [...(slot.current === undefined ? [] : [slot.current.task]), ...slot.queue];
        slot.current = undefined;
        slot.queue = [];
        for (const record of slot.instances) forget(record, CLOSED);
        for (const task of pending)
          task.resolve(err(sandboxError.instanceLost(task.record.handle.id, CLOSED)));
      }
      await Promise.resolve();
    },
  };
  return pool;
}
