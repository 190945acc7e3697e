/**
 * What the sandbox keeps per instance, and the read-only handle its owner holds.
 */
import type {
  InstanceStatus,
  ResourceMetrics,
  SandboxConfig,
  SandboxInstance,
  WasmValueType,
} from '@ri-sandbox/core';
import type { CompiledModule } from '@ri-sandbox/loader';
import type { Meter } from '@ri-sandbox/metering';
import type { AbortSignalBox } from './host-bridge';

/** An exported function ready to be called as an action. */
export interface Action {
  readonly name: string;
  readonly fn: (...args: unknown[]) => unknown;
  /** The signature as text, for messages: `(i32, i32) -> i64`. */
  readonly signature: string;
  /** Parameter and result types, or `undefined` where one cannot cross to JavaScript as a number. */
  readonly params: readonly WasmValueType[] | undefined;
  readonly results: readonly WasmValueType[] | undefined;
}

/** A module instantiated in an instance. */
export interface LiveModule {
  readonly compiled: CompiledModule;
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory | undefined;
  /** Actions already looked up, by export name. */
  readonly actions: Map<string, Action>;
  /** Where this module's host functions record the failure that ends the current guest call. */
  readonly abort: AbortSignalBox;
  /** Gas and time accounting of this module's instance. */
  readonly meter: Meter;
  /** The instrumented call-depth counter, and its limit. */
  readonly depth: WebAssembly.Global;
  readonly maxCallDepth: number;
}

/** Mutable state behind a {@link SandboxInstance}. */
export class InstanceState {
  status: InstanceStatus = 'created';
  live: LiveModule | undefined;
  loading = false;
  gasUsed = 0;
  executionMs = 0;
  metrics: ResourceMetrics;

  constructor(
    readonly id: string,
    public config: SandboxConfig,
  ) {
    this.metrics = this.measure();
  }

  /** Whether the instance has been destroyed (possibly by a host function during a call). */
  get destroyed(): boolean {
    return this.status === 'destroyed';
  }

  /** Metrics now, with the live memory size. */
  measure(): ResourceMetrics {
    return Object.freeze({
      memoryUsedBytes: this.live?.memory?.buffer.byteLength ?? 0,
      memoryLimitBytes: this.config.maxMemoryBytes,
      gasUsed: this.gasUsed,
      gasLimit: this.config.maxGas,
      executionMs: this.executionMs,
      executionLimitMs: this.config.maxExecutionMs,
    });
  }

  /** Records the metrics at the end of an operation, for {@link SandboxInstance.metrics}. */
  settle(): ResourceMetrics {
    this.metrics = this.measure();
    return this.metrics;
  }
}

/** The owner's view of an instance: read-only getters over the state. */
class InstanceHandle implements SandboxInstance {
  readonly #state: InstanceState;

  constructor(state: InstanceState) {
    this.#state = state;
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
