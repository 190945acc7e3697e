/**
 * The messages between the pool (on the caller's thread) and a worker. Plain
 * data only: everything crosses by structured clone.
 */
import type { InstanceStatus, ResourceMetrics, Result, SandboxError } from '@ri-sandbox/core';

/** The operations a worker performs on one of its instances. */
export type Operation =
  | 'create'
  | 'load'
  | 'execute'
  | 'destroy'
  | 'snapshot'
  | 'restore'
  | 'getMetrics'
  | 'readFiles'
  | 'writeFiles';

/** The sandbox options that can cross to a worker (the clocks cannot: workers use the defaults). */
export interface PortableOptions {
  readonly costs?: unknown;
  readonly memoryGrowFailure?: unknown;
  readonly canonicalizeNaNs?: unknown;
  readonly reuseMemories?: unknown;
}

/** The first message a worker receives. */
export interface InitMessage {
  readonly kind: 'init';
  readonly options: PortableOptions;
  /** A module whose default export is the host functions (an object keyed by name, or an array). */
  readonly hostFunctions: string | undefined;
  /** A module whose default export is a store of prepared modules. */
  readonly preparedModules: string | undefined;
  /** The shared memory of the pool's quick channel to this worker (see `channel.ts`), if it has one. */
  readonly channel?: SharedArrayBuffer | undefined;
}

/** A call of `op` on the instance `instance` (the pool's id for it). */
export interface CallMessage {
  readonly kind: 'call';
  readonly id: number;
  readonly op: Operation;
  readonly instance: string;
  readonly args: readonly unknown[];
}

export type ToWorker = InitMessage | CallMessage;

/** The operations that may go through the shared channel: synchronous, and answered as plain data. */
export const QUICK_OPERATIONS: ReadonlySet<Operation> = new Set(['execute', 'getMetrics']);

/** The instance's state after an operation, for the caller's handle. */
export interface InstanceState {
  readonly status: InstanceStatus;
  /** Left out when the result carries them (an execution's `metrics`). */
  readonly metrics?: ResourceMetrics;
  /** After `create` only: the configuration does not change afterwards. */
  readonly config?: unknown;
}

/** A worker's answer to an {@link InitMessage}: `error` if its host functions could not be imported. */
export interface ReadyMessage {
  readonly kind: 'ready';
  readonly error?: SandboxError;
}

/** A worker's answer to a {@link CallMessage}. */
export interface ReplyMessage {
  readonly kind: 'reply';
  readonly id: number;
  readonly result: Result<unknown, SandboxError> & { readonly [extra: string]: unknown };
  readonly state?: InstanceState;
}

export type FromWorker = ReadyMessage | ReplyMessage;
