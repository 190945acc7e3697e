/**
 * The call-depth limit and NaN canonicalization in one pass: each body is
 * walked once by both scans, and their insertions are copied in together.
 */
import {
  type BodyRider,
  type WasmModule,
  applyRiders,
  derivedModule,
  localCount,
  paramCount,
} from '@ri-sandbox/core';
import { DEFAULT_MAX_CALL_DEPTH, type DepthPlan, DepthRider, depthLimit, depthRider } from './depth';
import { NaNRider, nanRider } from './nan';

/** Options of {@link makeDeterministic}. */
export interface DeterministicOptions {
  /** The call-depth limit (see `limitCallDepth`). Default {@link DEFAULT_MAX_CALL_DEPTH}. */
  readonly maxCallDepth?: number;
  /** Whether calls to a function count toward the depth (see `limitCallDepth`). Default: all do. */
  readonly counted?: (functionIndex: number) => boolean;
  /** Whether to canonicalize NaNs (see `canonicalizeNaNs`). Default true. */
  readonly canonicalizeNaNs?: boolean;
}

/**
 * `limitCallDepth` then (unless turned off) `canonicalizeNaNs`, in one walk
 * and one copy of each body: the same module, byte for byte, in about half
 * the time. Function bodies must be structurally valid.
 * @throws WasmDecodeError on a malformed body.
 */
export function makeDeterministic(module: WasmModule, options: DeterministicOptions = {}): WasmModule {
  const limit = depthLimit(
    module,
    options.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH,
    options.counted ?? (() => true),
  );
  const canonicalize = options.canonicalizeNaNs !== false;
  const code = module.code.map((body, i) =>
    applyRiders(body, localCount(module, i), bodyRiders(limit.plan(i), canonicalize, paramCount(module, i))),
  );
  return limit.withCounter(derivedModule(module, { code }));
}

/**
 * The depth limit's and NaN canonicalization's riders of one body: depth first, so that its local comes
 * first, and at the same offset canonicalization's code (trailing) goes before the depth's (leading).
 * The body's first `params` locals are its parameters.
 */
function bodyRiders(plan: DepthPlan | undefined, canonicalize: boolean, params: number): BodyRider[] {
  const riders: BodyRider[] = [];
  if (plan !== undefined) riders.push(depthRider(plan));
  if (canonicalize) riders.push(nanRider(params));
  return riders;
}

/** The call-depth limit and NaN canonicalization, riding along another pass: see {@link deterministicRiders}. */
export interface DeterministicRiders {
  /**
   * The riders of defined function `definedIndex` (see `BodyRider` in `@ri-sandbox/core`), in a list
   * the caller may add to. The list and the riders are the ones the previous call gave, emptied:
   * the other pass writes each body before it asks for the next body's riders.
   */
  readonly riders: (definedIndex: number) => BodyRider[];
  /** The module the other pass wrote, with the call-depth counter global and its export added. */
  readonly finish: (rewritten: WasmModule) => WasmModule;
}

/**
 * {@link makeDeterministic} as riders on another pass over `module`'s bodies
 * (metering's, whose `riders` option takes them): the bodies are walked and
 * copied once for all. The other pass adds its globals first: `depthGlobal`
 * is the index the counter gets after them. Calls count toward the depth by
 * their index in `module` (see `limitCallDepth`).
 */
export function deterministicRiders(
  module: WasmModule,
  options: DeterministicOptions & { readonly depthGlobal: number },
): DeterministicRiders {
  const limit = depthLimit(
    module,
    options.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH,
    options.counted ?? (() => true),
    options.depthGlobal,
  );
  // One rider of each kind, and one list, for every body (a rider per body cost a few hundred bytes
  // each: tens of megabytes for a module of tens of thousands of functions).
  let depth: DepthRider | undefined;
  const nan = options.canonicalizeNaNs !== false ? new NaNRider() : undefined;
  const riders: BodyRider[] = [];
  return {
    riders: (definedIndex) => {
      // Written over in place, then cut to length: emptied first, the list would let go of its storage.
      let count = 0;
      const plan = limit.plan(definedIndex);
      // `depthLimit` gives every counted body the same plan.
      if (plan !== undefined) riders[count++] = (depth ??= new DepthRider(plan)).reset();
      if (nan !== undefined) riders[count++] = nan.reset(paramCount(module, definedIndex));
      // Cut by `pop` (the caller may have added its own): setting `length` is a call into the runtime.
      while (riders.length > count) riders.pop();
      return riders;
    },
    finish: (rewritten) => limit.withCounter(rewritten),
  };
}
