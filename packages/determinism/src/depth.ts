/**
 * A call-depth limit that is the same on every engine. Engines overflow their
 * native stacks at different depths; counting calls in a global and trapping
 * at a fixed depth makes deep recursion fail at the same point, and the same
 * gas, everywhere (before any engine's own stack runs out, for sane limits).
 *
 * The counter holds the depth of the function being entered: the host sets
 * it to 0 before it calls an export, and every call sets it to the caller's
 * depth plus one just before (a tail call to the caller's own depth). A
 * function reads it once, at its entry, traps if it is past the limit, and
 * keeps its callees' depth in a local: no code after calls, at exits, or in
 * exception handlers (a caught exception needs no repair, since every call
 * sets the counter afresh). A host function called at depth d that calls
 * back into the module runs the export at depth d. Functions the host can
 * call (exports, the start function) set the counter back to their own depth
 * where they return, so that it reads 0 again after a call from the host.
 */
import {
  ByteWriter,
  type Export,
  type InstructionVisitor,
  Insertions,
  ValType,
  type WasmModule,
  applyRiders,
  type BodyRider,
  type RiderInsertions,
  importedFunctionCount,
  instruction,
  lebEnd,
  localCount,
  opcodeSet,
  readLeb,
} from '@ri-sandbox/core';

/** Exported mutable i32 global: the depth of the function being entered. The host sets it to 0 before each call. */
export const DEPTH_EXPORT = '__ri_depth';

/** Default limit: deep enough for real recursive code, shallow enough for every engine's native stack. */
export const DEFAULT_MAX_CALL_DEPTH = 1000;

/** How a function is changed: the counter it uses, the limit, and which of its calls count. */
export interface DepthPlan {
  readonly depthGlobal: number;
  readonly maxDepth: number;
  readonly counted: (functionIndex: number) => boolean;
  /** Whether the host may call the function: it then leaves the counter at its own depth when it returns. */
  readonly entered: boolean;
}

// Opcodes the transform follows.
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const TRY = 0x06;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const BR_TABLE = 0x0e;
const RETURN = 0x0f;
const CALL = 0x10;
const CALL_INDIRECT = 0x11;
const RETURN_CALL = 0x12;
const RETURN_CALL_INDIRECT = 0x13;
const DELEGATE = 0x18;
/** What {@link DepthScan} looks at: constructs (to know its depth), exits and calls. */
const DEPTH_OPCODES = opcodeSet([
  BLOCK,
  LOOP,
  IF,
  TRY,
  END,
  DELEGATE,
  RETURN,
  BR,
  BR_IF,
  BR_TABLE,
  CALL,
  CALL_INDIRECT,
  RETURN_CALL,
  RETURN_CALL_INDIRECT,
]);

/** Whether the branch at `start` (`br`, `br_if`, `br_table`) may go to the function's label, `depth` levels out. */
function branchesOut(code: Uint8Array, start: number, depth: number): boolean {
  let p = start + 1;
  const count = code[start] === BR_TABLE ? readLeb(code, p) + 1 : 1;
  if (code[start] === BR_TABLE) p = lebEnd(code, p);
  for (let i = 0; i < count; i++, p = lebEnd(code, p)) if (readLeb(code, p) === depth) return true;
  return false;
}

// What is inserted where (see `DepthScan`).
const OWN_DEPTH = 0;
const CALL_DEPTH = 1;
const TAIL_CALL_DEPTH = 2;

/**
 * The call-depth limit's scan of one body: where it inserts code (the depth
 * set before calls and, for an entered function, at exits). {@link finish}
 * writes it, with the check at entry, once the function's new local is known.
 */
export class DepthScan implements InstructionVisitor {
  private readonly offsets: number[] = [];
  private readonly kinds: number[] = [];
  private depth = 0;
  readonly opcodes = DEPTH_OPCODES;

  constructor(private readonly plan: DepthPlan) {}

  visit(code: Uint8Array, start: number): void {
    const { counted, entered } = this.plan;
    const op = code[start] as number;
    switch (op) {
      case BLOCK:
      case LOOP:
      case IF:
      case TRY:
        this.depth++;
        break;
      case END:
      case DELEGATE:
        if (this.depth-- === 0 && entered) this.site(start, OWN_DEPTH);
        break;
      case RETURN:
        if (entered) this.site(start, OWN_DEPTH);
        break;
      case BR:
      case BR_IF:
      case BR_TABLE:
        if (entered && branchesOut(code, start, this.depth)) this.site(start, OWN_DEPTH);
        break;
      case CALL:
      case RETURN_CALL:
      case CALL_INDIRECT:
      case RETURN_CALL_INDIRECT:
        if ((op === CALL || op === RETURN_CALL) && !counted(readLeb(code, start + 1))) break;
        this.site(start, op === RETURN_CALL || op === RETURN_CALL_INDIRECT ? TAIL_CALL_DEPTH : CALL_DEPTH);
        break;
    }
  }

  private site(offset: number, kind: number): void {
    this.offsets.push(offset);
    this.kinds.push(kind);
  }

  /**
   * What to insert, with `next` the local the function gains (the callees'
   * depth): the check at entry, and the depth set before calls and exits.
   */
  finish(next: number): { readonly entry: Uint8Array; readonly insertions: Insertions } {
    const { depthGlobal, maxDepth } = this.plan;
    // next = depth + 1; if (next > maxDepth + 1) unreachable
    // (as an i32 bit pattern, compared unsigned: a limit of 2^32 - 2 or more never trips)
    const entry = new ByteWriter(24)
      .u8(0x23)
      .u32(depthGlobal)
      .u8(0x41)
      .s32(1)
      .u8(0x6a)
      .u8(0x22)
      .u32(next)
      .u8(0x41)
      .s32(Math.min(maxDepth + 1, 2 ** 32 - 1) | 0)
      .u8(0x4b)
      .u8(0x04)
      .u8(0x40)
      .u8(0x00)
      .u8(0x0b)
      .finish();
    const insertions = new Insertions();
    this.offsets.forEach((offset, i) => {
      const w = insertions.at(offset).u8(0x20).u32(next);
      // depth = next - 1 (its own) before an exit, = next before a call, = next - 1 before a tail call
      if (this.kinds[i] !== CALL_DEPTH) w.u8(0x41).s32(1).u8(0x6b);
      w.u8(0x24).u32(depthGlobal);
    });
    return { entry, insertions };
  }
}

/** The call-depth limit of one body, as a rider (see `BodyRider` in `@ri-sandbox/core`): it appends one local. */
export function depthRider(plan: DepthPlan): BodyRider {
  return new DepthRider(plan);
}

/** See {@link depthRider}: a class, so that every body's rider has one shape and one `finish`. */
class DepthRider implements BodyRider {
  readonly scan: DepthScan;

  constructor(plan: DepthPlan) {
    this.scan = new DepthScan(plan);
  }

  finish(next: number): RiderInsertions {
    const { entry, insertions } = this.scan.finish(next);
    return { entry, leading: insertions, locals: [DEPTH_LOCAL] };
  }
}

/** Where the call-depth limit puts its counter, and which functions it changes. */
export interface DepthLimit {
  /** The counter global's index: right after the module's globals. */
  readonly depthGlobal: number;
  /** The plan for defined function `definedIndex`; `undefined` if it is not counted. */
  plan(definedIndex: number): DepthPlan | undefined;
  /** The module with the counter global and its export added (bodies unchanged). */
  withCounter(module: WasmModule): WasmModule;
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
  const entered = new Set(module.exports.filter((e) => e.kind === 'function').map((e) => e.index));
  if (module.start !== undefined) entered.add(module.start);
  return {
    depthGlobal,
    plan: (definedIndex) => {
      const index = importedFunctions + definedIndex;
      return counted(index) ? { depthGlobal, maxDepth, counted, entered: entered.has(index) } : undefined;
    },
    withCounter: (rewritten) => {
      const depthExport: Export = { name: DEPTH_EXPORT, kind: 'global', index: depthGlobal };
      return {
        ...rewritten,
        globals: [
          ...rewritten.globals,
          { type: { valueType: ValType.i32, mutable: true }, init: [instruction('i32.const', 0)] },
        ],
        exports: [...rewritten.exports, depthExport],
      };
    },
  };
}

/** The local a counted function gains. */
export const DEPTH_LOCAL = { count: 1, type: ValType.i32 } as const;

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
  return limit.withCounter({ ...module, code });
}
