/**
 * Every way a sandbox operation can fail, as plain data with a literal `code`
 * that narrows in a `switch`. Errors are returned in a `Result`, never thrown.
 */
import type { InstanceStatus } from './types';
import { thrownReason } from './thrown';

/** Why a guest stopped abnormally. Stable across engines (V8, SpiderMonkey, JavaScriptCore). */
export type TrapKind =
  /** The guest executed `unreachable`. */
  | 'unreachable'
  /** A load, store or bulk memory operation went outside linear memory. */
  | 'out_of_bounds_memory'
  /** A table access or `call_indirect` index went outside the table. */
  | 'out_of_bounds_table'
  /** Integer division or remainder by zero. */
  | 'divide_by_zero'
  /** Signed division overflow (`INT_MIN / -1`). */
  | 'integer_overflow'
  /** A float-to-int truncation of NaN or of a value out of range. */
  | 'invalid_conversion'
  /**
   * `call_indirect` to an empty table slot or to a function of the wrong type
   * (one kind, because V8 reports both with the same message).
   */
  | 'indirect_call_mismatch'
  /** The guest's call stack overflowed. */
  | 'stack_overflow'
  /** A WebAssembly exception thrown by the guest was not caught by it. */
  | 'uncaught_exception'
  /** The requested action is not an exported function (or `__alloc` is missing in JSON mode). */
  | 'missing_export'
  /** The guest broke the JSON ABI: a pointer or length out of bounds, invalid UTF-8 or invalid JSON. */
  | 'abi_violation'
  /** A trap the engine reported in a way not recognised above; `message` has the engine's words. */
  | 'unknown';

/** Execution used all the gas it was given. */
export interface GasExhaustedError {
  readonly code: 'GAS_EXHAUSTED';
  readonly message: string;
  readonly gasUsed: number;
  readonly gasLimit: number;
}

/** The module asked for more linear memory than `maxMemoryBytes` allows. */
export interface MemoryExceededError {
  readonly code: 'MEMORY_EXCEEDED';
  readonly message: string;
  readonly memoryUsed: number;
  readonly memoryLimit: number;
}

/** Execution ran past `maxExecutionMs`. */
export interface TimeoutError {
  readonly code: 'TIMEOUT';
  readonly message: string;
  readonly elapsedMs: number;
  readonly limitMs: number;
  /**
   * Set when the guest could not be stopped in place (a host function that
   * blocked past the limit) and `@ri-sandbox/worker` terminated its worker.
   */
  readonly hardKill?: true;
  /** After a hard kill: whether the instance was restored from its last snapshot (else it is lost). */
  readonly recovered?: boolean;
}

/** The guest trapped. */
export interface WasmTrapError {
  readonly code: 'WASM_TRAP';
  readonly message: string;
  readonly trapKind: TrapKind;
}

/** The bytes are not a module this sandbox can run; `reason` says why. */
export interface InvalidModuleError {
  readonly code: 'INVALID_MODULE';
  readonly message: string;
  readonly reason: string;
}

/** A host function threw, or returned a value that does not fit its declared results. */
export interface HostFunctionError {
  readonly code: 'HOST_FUNCTION_ERROR';
  readonly message: string;
  readonly functionName: string;
  /** What the host function threw, for the embedder's own logging. */
  readonly cause?: unknown;
}

/** The instance was destroyed; nothing more can be done with it. */
export interface InstanceDestroyedError {
  readonly code: 'INSTANCE_DESTROYED';
  readonly message: string;
  readonly instanceId: string;
  /** Why, when it was not the owner's `destroy`: its worker was lost, or the worker sandbox closed. */
  readonly reason?: string;
}

/**
 * The worker running the instance died during the operation (an engine
 * out-of-memory, a host function that ended its thread): `@ri-sandbox/worker`
 * replaced it, and restored the instance from its last snapshot if it was
 * asked to (`recovered`); otherwise the instance is lost.
 */
export interface WorkerCrashedError {
  readonly code: 'WORKER_CRASHED';
  readonly message: string;
  readonly instanceId: string;
  /** What the engine said about the worker's end. */
  readonly reason: string;
  readonly recovered: boolean;
}

/** A snapshot could not be taken or restored. */
export interface SnapshotError {
  readonly code: 'SNAPSHOT_ERROR';
  readonly message: string;
  readonly reason: string;
}

/** A `SandboxConfig` value is invalid; `field` names it. */
export interface InvalidConfigError {
  readonly code: 'INVALID_CONFIG';
  readonly message: string;
  readonly field: string;
  readonly reason: string;
}

/** An `execute` payload cannot be passed to the action (wrong arity or type, not serialisable). */
export interface InvalidPayloadError {
  readonly code: 'INVALID_PAYLOAD';
  readonly message: string;
  readonly reason: string;
}

/**
 * The operation is not allowed in the instance's current status (`execute`
 * before `load`, a re-entrant `execute`, ...), or what was passed is not an
 * instance of this sandbox (`status` is then `'unknown'`).
 */
export interface InvalidStateError {
  readonly code: 'INVALID_STATE';
  readonly message: string;
  /** The instance's id, or the id a foreign instance claims (`''` if none). */
  readonly instanceId: string;
  readonly status: InstanceStatus | 'unknown';
  readonly operation: string;
}

/** Every error a sandbox operation can return; narrow on `code`. */
export type SandboxError =
  | GasExhaustedError
  | MemoryExceededError
  | TimeoutError
  | WasmTrapError
  | InvalidModuleError
  | HostFunctionError
  | InstanceDestroyedError
  | WorkerCrashedError
  | SnapshotError
  | InvalidConfigError
  | InvalidPayloadError
  | InvalidStateError;

/** The `code` of every {@link SandboxError}. */
export type SandboxErrorCode = SandboxError['code'];

/** `JSON.stringify` typed honestly: functions, symbols and `undefined` have no JSON form. */
const stringifyJson: (value: unknown) => string | undefined = JSON.stringify;

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  try {
    return stringifyJson(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** `undefined`, `a number`, `a string`, ...: what a value that should have been an object is. */
function describeType(value: unknown): string {
  return value === undefined ? 'undefined' : `a ${typeof value}`;
}

/**
 * The `id` that `given` claims, if it is a string; '' when it has none or reading it throws (a proxy
 * whose trap throws, an object made from a handle, whose getter then finds no state).
 */
function claimedId(given: unknown): string {
  try {
    const claimed = (given as { id?: unknown } | null | undefined)?.id;
    return typeof claimed === 'string' ? claimed : '';
  } catch {
    return '';
  }
}

/** Constructors for each {@link SandboxError}, each with a message a person can act on. */
export const sandboxError = {
  gasExhausted: (gasUsed: number, gasLimit: number): GasExhaustedError =>
    Object.freeze({
      code: 'GAS_EXHAUSTED',
      message: `gas exhausted: used ${gasUsed} of ${gasLimit} (raise maxGas or do less work per call)`,
      gasUsed,
      gasLimit,
    }),
  memoryExceeded: (memoryUsed: number, memoryLimit: number): MemoryExceededError =>
    Object.freeze({
      code: 'MEMORY_EXCEEDED',
      message: `memory limit exceeded: ${memoryUsed} bytes needed, limit is ${memoryLimit} bytes (raise maxMemoryBytes)`,
      memoryUsed,
      memoryLimit,
    }),
  timeout: (elapsedMs: number, limitMs: number): TimeoutError =>
    Object.freeze({
      code: 'TIMEOUT',
      message: `execution timed out after ${Math.round(elapsedMs * 10) / 10} ms (limit ${limitMs} ms)`,
      elapsedMs,
      limitMs,
    }),
  hardKill: (elapsedMs: number, limitMs: number, recovered: boolean): TimeoutError =>
    Object.freeze({
      code: 'TIMEOUT',
      message:
        `execution did not return ${Math.round(elapsedMs)} ms into its ${limitMs} ms limit, so its worker was ` +
        `terminated (a host function blocked); the instance was ${recovered ? 'restored from its last snapshot' : 'lost'}`,
      elapsedMs,
      limitMs,
      hardKill: true,
      recovered,
    }),
  workerCrashed: (instanceId: string, reason: string, recovered: boolean): WorkerCrashedError =>
    Object.freeze({
      code: 'WORKER_CRASHED',
      message: `the worker running instance ${instanceId} crashed (${reason}); the instance was ${recovered ? 'restored from its last snapshot' : 'lost'}`,
      instanceId,
      reason,
      recovered,
    }),
  instanceLost: (instanceId: string, reason: string): InstanceDestroyedError =>
    Object.freeze({
      code: 'INSTANCE_DESTROYED',
      message: `instance ${instanceId} is gone: ${reason}`,
      instanceId,
      reason,
    }),
  wasmTrap: (trapKind: TrapKind, message: string): WasmTrapError =>
    Object.freeze({ code: 'WASM_TRAP', message, trapKind }),
  invalidModule: (reason: string): InvalidModuleError =>
    Object.freeze({ code: 'INVALID_MODULE', message: `invalid module: ${reason}`, reason }),
  hostFunctionError: (functionName: string, cause: unknown): HostFunctionError =>
    Object.freeze({
      code: 'HOST_FUNCTION_ERROR',
      message: `host function "${functionName}" failed: ${describe(cause)}`,
      functionName,
      cause,
    }),
  instanceDestroyed: (instanceId: string): InstanceDestroyedError =>
    Object.freeze({
      code: 'INSTANCE_DESTROYED',
      message: `instance ${instanceId} has been destroyed`,
      instanceId,
    }),
  snapshotError: (reason: string): SnapshotError =>
    Object.freeze({ code: 'SNAPSHOT_ERROR', message: `snapshot failed: ${reason}`, reason }),
  invalidConfig: (field: string, reason: string): InvalidConfigError =>
    Object.freeze({ code: 'INVALID_CONFIG', message: `invalid config ${field}: ${reason}`, field, reason }),
  invalidPayload: (reason: string): InvalidPayloadError =>
    Object.freeze({ code: 'INVALID_PAYLOAD', message: `invalid payload: ${reason}`, reason }),
  invalidState: (
    instanceId: string,
    status: InstanceStatus,
    operation: string,
    hint?: string,
  ): InvalidStateError =>
    Object.freeze({
      code: 'INVALID_STATE',
      message: `cannot ${operation} instance ${instanceId} while it is ${status}${hint === undefined ? '' : `: ${hint}`}`,
      instanceId,
      status,
      operation,
    }),
  notAnInstance: (operation: string, given: unknown): InvalidStateError => {
    const instanceId = claimedId(given);
    const what =
      instanceId !== ''
        ? `instance ${instanceId} belongs to another sandbox`
        : `${given === null ? 'null' : typeof given === 'object' ? 'that object' : describeType(given)} is not an instance`;
    return Object.freeze({
      code: 'INVALID_STATE',
      message: `cannot ${operation}: ${what}; pass an instance this sandbox's create returned`,
      instanceId,
      status: 'unknown',
      operation,
    });
  },
} as const;

/** `INVALID_CONFIG` for `field`, whose reading threw `error` (a getter, a proxy). */
export function readingConfigThrew(field: string, error: unknown): InvalidConfigError {
  const reason = thrownReason(error);
  return sandboxError.invalidConfig(field, `reading it threw: ${reason}`);
}

/**
 * Thrown by a factory given options it cannot use (`createWasmSandbox`, say):
 * the one place ri-sandbox throws rather than return a `Result`, since there
 * is no sandbox yet to return one from. `error` is the typed error, naming the
 * option in `field`.
 */
export class SandboxOptionsError extends Error {
  override readonly name = 'SandboxOptionsError';
  readonly error: InvalidConfigError;

  constructor(error: InvalidConfigError) {
    super(error.message);
    this.error = error;
  }
}

const CODES: ReadonlySet<string> = new Set<SandboxErrorCode>([
  'GAS_EXHAUSTED',
  'MEMORY_EXCEEDED',
  'TIMEOUT',
  'WASM_TRAP',
  'INVALID_MODULE',
  'HOST_FUNCTION_ERROR',
  'INSTANCE_DESTROYED',
  'WORKER_CRASHED',
  'SNAPSHOT_ERROR',
  'INVALID_CONFIG',
  'INVALID_PAYLOAD',
  'INVALID_STATE',
]);

/** Whether `value` is a {@link SandboxError}. */
export function isSandboxError(value: unknown): value is SandboxError {
  if (typeof value !== 'object' || value === null) return false;
  const { code, message } = value as { code?: unknown; message?: unknown };
  return typeof code === 'string' && CODES.has(code) && typeof message === 'string';
}
