/**
 * A capability is what a loaded module can reach besides its own code: the
 * imports it provides, the gas it charges, the state it adds to a snapshot
 * and how it restores it, and what it reports in a result. The sandbox runs
 * guest code the same way whatever its capabilities are; WASI is one.
 */
import type { ExecutionOutput, ImportSignature, Result, SnapshotError } from '@ri-sandbox/core';
import type { ImportedFunctions } from '@ri-sandbox/loader';

/** A state a capability read from a snapshot, checked: putting it in place cannot fail. */
export type PreparedRestore = () => void;

export interface Capability {
  /** Its name: the name of its extension section in snapshots. */
  readonly name: string;
  /** The functions it provides, by signature, for the import check. */
  readonly provides: Readonly<Record<string, ImportSignature>>;
  /** Those functions, ready to import (they charge gas and stop the guest as the sandbox's own do). */
  readonly imports: ImportedFunctions;
  /** An export to run once the module is instantiated, metered like a start function (a WASI reactor's `_initialize`). */
  readonly initializer: string | undefined;
  /** Connects it to the instance's memory (again after a restore rebuilt the instance). */
  attach(memory: WebAssembly.Memory | undefined): void;
  /** Called when a run of guest code starts and when it ends (the execution's figures are still readable). */
  beginRun(): void;
  endRun(): void;
  /** What the guest produced through it during the run just ended. */
  takeOutput(): ExecutionOutput | undefined;
  /** The value an action returns when the guest returned `value` normally (a WASI command's `_start` gives 0). */
  resultOf(action: string, value: unknown): unknown;
  /** Its state, for a snapshot. */
  save(): Uint8Array;
  /** Checks a state from a snapshot; the returned function puts it in place. */
  prepareRestore(bytes: Uint8Array): Result<PreparedRestore, SnapshotError>;
}

/** The imports of several capabilities, merged by module. */
export function capabilityImports(capabilities: readonly Capability[]): ImportedFunctions {
  const merged: Record<string, Record<string, (...args: never[]) => unknown>> = {};
  for (const capability of capabilities)
    for (const [module, functions] of Object.entries(capability.imports))
      Object.assign((merged[module] ??= {}), functions);
  return merged;
}

/** The output of the run just ended, merged over capabilities (at most one produces any today: WASI). */
export function runOutput(capabilities: readonly Capability[]): ExecutionOutput | undefined {
  let output: ExecutionOutput | undefined;
  for (const capability of capabilities) output = capability.takeOutput() ?? output;
  return output;
}
