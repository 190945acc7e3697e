/**
 * The call-depth limit and NaN canonicalization in one pass: each body is
 * walked once by both scans, and their insertions are copied in together.
 */
import {
  type BodyRider,
  Insertions,
  type WasmModule,
  applyInsertions,
  localCount,
  walkBody,
} from '@ri-sandbox/core';
import { DEFAULT_MAX_CALL_DEPTH, DEPTH_LOCAL, type DepthPlan, DepthScan, depthLimit } from './depth';
import { NaNScan } from './nan';

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
  const code = module.code.map((body, i) => {
    const plan = limit.plan(i);
    const scans = bodyScans(plan, canonicalize);
    if (scans.length === 0) return body;
    walkBody(
      body.code,
      scans.map((rider) => rider.scan),
    );
    let next = localCount(module, i);
    const inserted = scans.map((rider) => {
      const insertions = rider.finish(next);
      for (const group of insertions.locals) next += group.count;
      return insertions;
    });
    if (inserted.every((r) => r.entry.length === 0 && r.trailing.count === 0 && r.leading.count === 0))
      return body;
    // At the same offset, canonicalization goes first: it finishes the instruction before.
    const entries = new Insertions();
    entries.at(0).bytes(concat(inserted.map((r) => r.entry)));
    return {
      locals: [...body.locals, ...inserted.flatMap((r) => r.locals)],
      code: applyInsertions(body.code, [
        entries,
        ...inserted.map((r) => r.trailing),
        ...inserted.map((r) => r.leading),
      ]),
    };
  });
  return limit.withCounter({ ...module, code });
}

/** What a rider that inserts nothing of a kind gives (shared: never added to). */
const NONE = new Insertions();
const NO_ENTRY = new Uint8Array(0);

/** The depth limit's and NaN canonicalization's scans of one body, as riders (depth first: its local comes first). */
function bodyScans(plan: DepthPlan | undefined, canonicalize: boolean): BodyRider[] {
  const riders: BodyRider[] = [];
  if (plan !== undefined) {
    const depth = new DepthScan(plan);
    riders.push({
      scan: depth,
      finish: (next) => {
        const { entry, insertions } = depth.finish(next);
        return { entry, trailing: NONE, leading: insertions, locals: [DEPTH_LOCAL] };
      },
    });
  }
  if (canonicalize) {
    const nan = new NaNScan();
    riders.push({
      scan: nan,
      finish: (first) => {
        const { insertions, locals } = nan.finish(first);
        return { entry: NO_ENTRY, trailing: insertions, leading: NONE, locals };
      },
    });
  }
  return riders;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The call-depth limit and NaN canonicalization, riding along another pass: see {@link deterministicRiders}. */
export interface DeterministicRiders {
  /** Fresh riders for defined function `definedIndex` (see `BodyRider` in `@ri-sandbox/core`). */
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
  const canonicalize = options.canonicalizeNaNs !== false;
  return {
    riders: (definedIndex) => bodyScans(limit.plan(definedIndex), canonicalize),
    finish: (rewritten) => limit.withCounter(rewritten),
  };
}
