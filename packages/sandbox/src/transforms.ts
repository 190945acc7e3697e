/**
 * The bytecode transforms a sandbox load applies to a module that passed the
 * loader's checks: the determinism policy refuses what cannot be made
 * deterministic; metering charges gas; the call-depth limit and NaN
 * canonicalization are not charged for; the exposure of state for snapshots
 * comes last, so that every other transform's globals are exposed too. Each
 * function body is walked and copied once, during metering's pass, which the
 * others ride along.
 */
import {
  type BodyRider,
  type InstructionVisitor,
  type RiderInsertions,
  type Result,
  type SandboxError,
  type WasmModule,
  WasmDecodeError,
  err,
  ok,
  sandboxError,
} from '@ri-sandbox/core';
import { PolicyScan, deterministicRiders, findNondeterminism } from '@ri-sandbox/determinism';
import { type CostModel, METERING_GLOBALS, meterModule, meteringGlobals } from '@ri-sandbox/metering';
import { type ExposedModule, ScannedState, exposeState } from '@ri-sandbox/snapshot';

/** What the transforms depend on: the parts of a sandbox's options and config that shape the module. */
export interface TransformOptions {
  readonly costs: CostModel;
  /** The memory limit in pages; `memory.grow` past it stops the guest (or fails, see below). */
  readonly memoryLimitPages: number;
  readonly memoryGrowFailure: 'trap' | 'return-minus-one' | undefined;
  readonly maxCallDepth: number;
  readonly canonicalizeNaNs: boolean;
}

/** Nothing inserted. */
const NOTHING: RiderInsertions = {};

/** A rider that only looks: `scan` sees the body, and nothing is inserted. */
class ScanOnly implements BodyRider {
  constructor(readonly scan: InstructionVisitor) {}

  finish(): RiderInsertions {
    return NOTHING;
  }
}

/**
 * `module` itself, or `INVALID_MODULE` naming every reason it cannot run
 * deterministically (its bodies walked here, unless `scanned` saw them all).
 * A body that cannot be walked is not the policy's to refuse: `module` then,
 * for metering, which could not walk it either, to say why.
 */
function refuseNondeterminism(module: WasmModule, scanned?: PolicyScan): Result<WasmModule, SandboxError> {
  let problems: ReturnType<typeof findNondeterminism>;
  try {
    problems = findNondeterminism(module, scanned);
  } catch (error) {
    if (error instanceof WasmDecodeError) return ok(module);
    throw error;
  }
  if (problems.length === 0) return ok(module);
  return err(sandboxError.invalidModule(`not deterministic: ${problems.map((p) => p.reason).join('; ')}`));
}

/**
 * The policy, metering, the call-depth limit, NaN canonicalization and the
 * exposure of state, applied to `module` as a sandbox load does: the module
 * to compile and where its state can be found for snapshots, or
 * `INVALID_MODULE` (what the policy refuses first). The module's bodies are
 * metering's transient output (see `MeteringOptions.transientOutput`): it
 * must be encoded before the next call, as the loader does at once.
 */
export function instrumentForSandbox(
  module: WasmModule,
  options: TransformOptions,
): Result<ExposedModule, SandboxError> {
  // The call-depth limit and NaN canonicalization ride along metering's walk and copy of each body
  // (so that neither costs gas); metering's refill import and helpers are not in `module`, so every
  // call its bodies make counts toward the depth. The counter global comes after metering's.
  const counters = meteringGlobals(module);
  const determinism = deterministicRiders(module, {
    maxCallDepth: options.maxCallDepth,
    canonicalizeNaNs: options.canonicalizeNaNs,
    depthGlobal: (counters[0] as number) + METERING_GLOBALS,
  });
  // What the policy and the exposure of state need to know of the bodies is found during the same walk.
  const policy = new PolicyScan();
  const policyRider = new ScanOnly(policy);
  const scanned = new ScannedState();
  let stateRider: ScanOnly | undefined;
  const metered = meterModule(module, {
    costs: options.costs,
    memoryLimitPages: options.memoryLimitPages,
    memoryGrowFailure: options.memoryGrowFailure,
    transientOutput: true,
    riders: (i) => {
      // A list ours to add to (the one of the last body, emptied), and riders reused body after body.
      const riders = determinism.riders(i);
      const state = scanned.scan(i);
      if (stateRider?.scan !== state) stateRider = new ScanOnly(state);
      riders.push(policyRider, stateRider);
      return riders;
    },
  });
  // The policy's refusal comes first (a metering failure may have cut the walk short: then it walks).
  const allowed = refuseNondeterminism(module, metered.ok ? policy : undefined);
  if (!allowed.ok) return allowed;
  if (!metered.ok) return metered;
  // Metering's counters hold nothing between runs (the meter sets them before each): not state.
  return exposeState(determinism.finish(metered.value), scanned, new Set(counters));
}
