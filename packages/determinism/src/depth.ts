/**
 * A call-depth limit that is the same on every engine. Engines overflow their
 * native stacks at different depths; counting calls in a global and trapping
 * at a fixed depth makes deep recursion fail at the same point, and the same
 * gas, everywhere (before any engine's own stack runs out, for sane limits).
 *
 * The counter holds the depth of the function being entered: it reads 0
 * when the host calls an export, and every call sets it to the caller's depth
 * plus one just before (a tail call to the caller's own depth). A function
 * reads it once, at its entry, traps if it is past the limit, and keeps its
 * callees' depth in a local: no code after calls, at exits, or in exception
 * handlers (a caught exception needs no repair, since every call sets the
 * counter afresh). The host enters the module through wrappers added at the
 * end of the function space, in place of the exports and the start function:
 * each keeps the counter as it found it and sets it back when the function
 * returns, so that it reads 0 again after a call from the host, and the calls
 * the module makes to its own exports pay nothing for it. A host function
 * called at depth d that calls back into the module runs the export at depth d.
 */
import {
  AppendedFunctions,
  derivedModule,
  ByteWriter,
  type ElementSegment,
  type Export,
  type FuncType,
  type InstructionVisitor,
  Insertions,
  type LocalGroup,
  ValType,
  type WasmModule,
  applyRiders,
  type BodyRider,
  type RiderInsertions,
  importedFunctionCount,
  instruction,
  localCount,
  opcodeSet,
  readLeb,
} from '@ri-sandbox/core';

/**
 * Exported mutable i32 global: the depth of the function being entered. It
 * reads 0 after an export returns; after a trap, the host sets it back to 0.
 */
export const DEPTH_EXPORT = '__ri_depth';

/** Default limit: deep enough for real recursive code, shallow enough for every engine's native stack. */
export const DEFAULT_MAX_CALL_DEPTH = 1000;

/** The local a counted function gains (the depth of its callees); the host's entries use one too. */
const DEPTH_LOCAL = { count: 1, type: ValType.i32 } as const;
/** What each counted body appends: {@link DEPTH_LOCAL} (read only, shared). */
const DEPTH_LOCALS: readonly LocalGroup[] = [DEPTH_LOCAL];

/** How a function is changed: the counter it uses, the limit, and which of its calls count. */
export interface DepthPlan {
  readonly depthGlobal: number;
  readonly maxDepth: number;
  readonly counted: (functionIndex: number) => boolean;
}

// Opcodes the transform follows.
const CALL = 0x10;
const CALL_INDIRECT = 0x11;
const RETURN_CALL = 0x12;
const RETURN_CALL_INDIRECT = 0x13;
/** What {@link DepthScan} looks at: calls. */
const DEPTH_OPCODES = opcodeSet([CALL, CALL_INDIRECT, RETURN_CALL, RETURN_CALL_INDIRECT]);

/**
 * The call-depth limit's scan of one body: where it sets the counter (before
 * calls that count). {@link finish} writes it, with the check at entry, once
 * the function's new local is known.
 */
export class DepthScan implements InstructionVisitor {
  /** The calls' offsets, the first {@link calls} of them (kept from body to body: emptying would free them). */
  private readonly offsets: number[] = [];
  /** Per offset: whether it is a tail call's. */
  private readonly tails: boolean[] = [];
  private calls = 0;
  /** What {@link finish} fills: one list per scan, emptied for each body. */
  private readonly insertions = new Insertions();
  readonly opcodes = DEPTH_OPCODES;

  constructor(private readonly plan: DepthPlan) {}

  /** Forgets the body seen last, for the next one: what {@link finish} gave for it is written over. */
  reset(): void {
    this.calls = 0;
  }

  visit(code: Uint8Array, start: number): void {
    const op = code[start] as number;
    if ((op === CALL || op === RETURN_CALL) && !this.plan.counted(readLeb(code, start + 1))) return;
    this.offsets[this.calls] = start;
    this.tails[this.calls] = op === RETURN_CALL || op === RETURN_CALL_INDIRECT;
    this.calls++;
  }

  /**
   * What to insert, with `next` the local the function gains (the callees'
   * depth): the check at entry, and the depth set before calls (`undefined`
   * for a body that makes no call that counts). The entry's bytes are shared
   * by the bodies with as many locals: not to be written to.
   */
  finish(next: number): { readonly entry: Uint8Array; readonly insertions: Insertions | undefined } {
    const { offsets, tails, plan, calls } = this;
    const entry = entryCheck(plan, next);
    if (calls === 0) return { entry, insertions: undefined };
    const insertions = this.insertions.clear();
    for (let i = 0; i < calls; i++) {
      const w = insertions
        .at(offsets[i] as number)
        .u8(0x20)
        .u32(next);
      // depth = next before a call, = next - 1 (its own) before a tail call
      if (tails[i] === true) w.u8(0x41).s32(1).u8(0x6b);
      w.u8(0x24).u32(plan.depthGlobal);
    }
    return { entry, insertions };
  }
}

/** Each plan's checks at entry, by the local they keep the callees' depth in (see {@link entryCheck}). */
const entryChecks = new WeakMap<DepthPlan, Map<number, Uint8Array>>();

/**
 * `next = depth + 1; if (next > maxDepth + 1) unreachable`, with `next` in local `next` (as an i32 bit
 * pattern, compared unsigned: a limit of 2^32 - 2 or more never trips). Made once per plan and local:
 * most bodies of a module share a few.
 */
function entryCheck(plan: DepthPlan, next: number): Uint8Array {
  let byLocal = entryChecks.get(plan);
  if (byLocal === undefined) {
    byLocal = new Map();
    entryChecks.set(plan, byLocal);
  }
  let entry = byLocal.get(next);
  if (entry === undefined) {
    entry = new ByteWriter(24)
      .u8(0x23)
      .u32(plan.depthGlobal)
      .u8(0x41)
      .s32(1)
      .u8(0x6a)
      .u8(0x22)
      .u32(next)
      .u8(0x41)
      .s32(Math.min(plan.maxDepth + 1, 2 ** 32 - 1) | 0)
      .u8(0x4b)
      .u8(0x04)
      .u8(0x40)
      .u8(0x00)
      .u8(0x0b)
      .finish();
    byLocal.set(next, entry);
  }
  return entry;
}

/** The call-depth limit of one body, as a rider (see `BodyRider` in `@ri-sandbox/core`): it appends one local. */
export function depthRider(plan: DepthPlan): BodyRider {
  return new DepthRider(plan);
}

/**
 * See {@link depthRider}: a class, so that every body's rider has one shape and one `finish`. One rider
 * serves body after body of a pass that writes each before it scans the next: {@link reset} between.
 */
export class DepthRider implements BodyRider {
  readonly scan: DepthScan;

  constructor(plan: DepthPlan) {
    this.scan = new DepthScan(plan);
  }

  /** The rider, emptied for the next body. */
  reset(): this {
    this.scan.reset();
    return this;
  }

  finish(next: number): RiderInsertions {
    const { entry, insertions } = this.scan.finish(next);
    return { entry, leading: insertions, locals: DEPTH_LOCALS };
  }
}

/** Where the call-depth limit puts its counter, and which functions it changes. */
export interface DepthLimit {
  /** The counter global's index: right after the module's globals. */
  readonly depthGlobal: number;
  /** The plan for defined function `definedIndex`; `undefined` if it is not counted. */
  plan(definedIndex: number): DepthPlan | undefined;
  /**
   * The module with the counter global and its export added, and the host's
   * entries (exports and start function) of counted functions turned into
   * wrappers that set the counter back (bodies unchanged). `rewritten` is
   * the module or what another pass made of it, with its exports under the
   * same names and its start function the same.
   */
  withCounter(rewritten: WasmModule): WasmModule;
}

/** The call-depth limit of `module`: see {@link limitCallDepth}. */
export function depthLimit(
  module: WasmModule,
  maxDepth: number,
  counted: (functionIndex: number) => boolean,
  /** Where the counter goes: right after the module's globals, or after those another pass adds first. */
  depthGlobal: number = module.imports.filter((i) => i.descriptor.kind === 'global').length +
    module.globals.length,
): DepthLimit {
  const importedFunctions = importedFunctionCount(module);
  const checked = (index: number) => index >= importedFunctions && counted(index);
  // The host's entries into functions that check their depth, by export name (another pass may renumber functions).
  const enteredExports = new Set(
    module.exports.filter((e) => e.kind === 'function' && checked(e.index)).map((e) => e.name),
  );
  const enteredStart = module.start !== undefined && checked(module.start);
  // One plan for every counted body: their checks at entry are made once per plan (see `entryCheck`).
  const plan: DepthPlan = { depthGlobal, maxDepth, counted };
  return {
    depthGlobal,
    plan: (definedIndex) => (checked(importedFunctions + definedIndex) ? plan : undefined),
    withCounter: (rewritten) => {
      const entries = new EntryWrappers(rewritten, depthGlobal);
      // An export declares its function for `ref.func`; a wrapped one is declared by a segment instead.
      const declared = new Set<number>();
      const exports: Export[] = rewritten.exports.map((e) => {
        if (e.kind !== 'function' || !enteredExports.has(e.name)) return e;
        declared.add(e.index);
        return Object.assign({}, e, { index: entries.wrapperOf(e.index) });
      });
      exports.push({ name: DEPTH_EXPORT, kind: 'global', index: depthGlobal });
      const start =
        enteredStart && rewritten.start !== undefined ? entries.wrapperOf(rewritten.start) : rewritten.start;
      const declaration: ElementSegment = {
        mode: 'declarative',
        table: 0,
        elementType: ValType.funcref,
        init: { kind: 'functions', indices: [...declared] },
      };
      const { functions, code } = entries.appended.joined();
      return derivedModule(rewritten, {
        functions,
        code,
        start,
        elements: declared.size === 0 ? rewritten.elements : [...rewritten.elements, declaration],
        globals: [
          ...rewritten.globals,
          { type: { valueType: ValType.i32, mutable: true }, init: [instruction('i32.const', 0)] },
        ],
        exports,
      });
    },
  };
}

/**
 * The wrappers through which the host enters a module's functions, one per
 * function, appended to its function space: `saved = depth; call f; depth = saved`.
 */
class EntryWrappers {
  readonly appended: AppendedFunctions;
  private readonly wrappers = new Map<number, number>();
  private readonly importedFunctions: number;

  constructor(
    private readonly module: WasmModule,
    private readonly depthGlobal: number,
  ) {
    this.appended = new AppendedFunctions(module);
    this.importedFunctions = importedFunctionCount(module);
  }

  /** The index of the wrapper of function `index` (a defined function of the module), made on first use. */
  wrapperOf(index: number): number {
    const known = this.wrappers.get(index);
    if (known !== undefined) return known;
    const type = this.module.functions[index - this.importedFunctions] as number;
    const params = (this.module.types[type] as FuncType).params.length;
    const w = new ByteWriter(16 + 2 * params).u8(0x23).u32(this.depthGlobal).u8(0x21).u32(params);
    for (let i = 0; i < params; i++) w.u8(0x20).u32(i);
    w.u8(0x10).u32(index).u8(0x20).u32(params).u8(0x24).u32(this.depthGlobal).u8(0x0b);
    const wrapper = this.appended.add(type, { locals: [DEPTH_LOCAL], code: w.finish() });
    this.wrappers.set(index, wrapper);
    return wrapper;
  }
}

/**
 * Rewrites `module` so that a call nested deeper than `maxDepth` traps
 * (`unreachable`) with the exported depth counter above `maxDepth`.
 */
export function limitCallDepth(
  module: WasmModule,
  maxDepth: number = DEFAULT_MAX_CALL_DEPTH,
  /**
   * Whether calls to a function count (and, for a defined one, whether it checks its depth);
   * another transform's helpers (a gas refill, say) need not.
   */
  counted: (functionIndex: number) => boolean = () => true,
): WasmModule {
  const limit = depthLimit(module, maxDepth, counted);
  const code = module.code.map((body, i) => {
    const plan = limit.plan(i);
    return plan === undefined ? body : applyRiders(body, localCount(module, i), [depthRider(plan)]);
  });
  return limit.withCounter(derivedModule(module, { code }));
}
