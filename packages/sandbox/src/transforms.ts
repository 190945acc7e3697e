/**
 * The bytecode transforms a sandbox load applies to a module that passed the
 * loader's checks, in their order: the determinism policy refuses what cannot
 * be made deterministic; metering charges gas; the call-depth limit and NaN
 * canonicalization follow (so that neither costs gas); the exposure of state
 * for snapshots comes last, so that every other transform's globals are
 * exposed too.
 */
import {
  type Result,
  type SandboxError,
  type WasmModule,
  err,
  importedFunctionCount,
  ok,
  sandboxError,
} from '@ri-sandbox/core';
import { findNondeterminism, makeDeterministic } from '@ri-sandbox/determinism';
import { type CostModel, meterModule } from '@ri-sandbox/metering';
import { type ExposedModule, exposeState } from '@ri-sandbox/snapshot';

/** What the transforms depend on: the parts of a sandbox's options and config that shape the module. */
export interface TransformOptions {
  readonly costs: CostModel;
  /** The memory limit in pages; `memory.grow` past it stops the guest (or fails, see below). */
  readonly memoryLimitPages: number;
  readonly memoryGrowFailure: 'trap' | 'return-minus-one' | undefined;
  readonly maxCallDepth: number;
  readonly canonicalizeNaNs: boolean;
}

/** `module` itself, or `INVALID_MODULE` naming every reason it cannot run deterministically. */
export function refuseNondeterminism(module: WasmModule): Result<WasmModule, SandboxError> {
  const problems = findNondeterminism(module);
  if (problems.length === 0) return ok(module);
  return err(sandboxError.invalidModule(`not deterministic: ${problems.map((p) => p.reason).join('; ')}`));
}

/**
 * Metering, the call-depth limit, NaN canonicalization and the exposure of
 * state, applied to `module` as a sandbox load does (the policy check aside:
 * see {@link refuseNondeterminism}). The result is the module to compile and
 * where its state can be found for snapshots.
 */
export function instrumentForSandbox(
  module: WasmModule,
  options: TransformOptions,
): Result<ExposedModule, SandboxError> {
  const metered = meterModule(module, {
    costs: options.costs,
    memoryLimitPages: options.memoryLimitPages,
    memoryGrowFailure: options.memoryGrowFailure,
  });
  if (!metered.ok) return metered;
  // Metering's refill import (right after the module's imports) and its helpers (after the
  // module's functions) are not the guest's calls, and do not count toward its depth.
  const refill = importedFunctionCount(module);
  const helpers = refill + 1 + module.functions.length;
  const counted = (index: number) => index !== refill && index < helpers;
  return exposeState(
    makeDeterministic(metered.value, {
      maxCallDepth: options.maxCallDepth,
      counted,
      canonicalizeNaNs: options.canonicalizeNaNs,
    }),
  );
}
