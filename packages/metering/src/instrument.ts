/**
 * The gas instrumentation: each function body is cut into straight-line
 * blocks, and each block charges its whole cost from a mutable i64 global
 * before it runs. When the counter goes negative, the host's `refill` decides
 * whether to grant more (checking the gas limit and the clock on the way) or
 * to stop the guest with an uncatchable trap.
 *
 * Bodies are rewritten at the byte level: instructions are copied through as
 * byte ranges; only charges, function indices (shifted by the added import),
 * `memory.grow` and bulk operations are re-encoded.
 */
import {
  AppendedFunctions,
  type BodyRider,
  derivedModule,
  ByteWriter,
  type FuncType,
  type FunctionBody,
  type Global,
  type Import,
  type Instruction,
  type InstructionVisitor,
  type LocalGroup,
  type Result,
  type InvalidConfigError,
  type SandboxError,
  ValType,
  type WasmModule,
  WasmDecodeError,
  WasmEncodeError,
  decodeModule,
  encodeInstructions,
  encodeModule,
  err,
  findUnknownIndex,
  finishRiders,
  importedFunctionCount,
  indexSpaces,
  instruction,
  localCount,
  ok,
  remapFunctionReferences,
  sandboxError,
  thrownReason,
} from '@ri-sandbox/core';
import { type CostModel, DEFAULT_COST_MODEL, resolveCostModel } from './cost-model';
import { Charger } from './charger';
import { NO_OWN_TABLES, ownTables } from './tables';
import { ScanUnavailable } from './scan-kernel';
import { NumberList } from './lists';
import { type BodyScan, type Callees, type CostLookup, ScanLists, costLookup, scanBody } from './scan';
import type { WriteSettings } from './scan-kernel';

/** A cost model resolved, and its lookup tables. */
interface ResolvedCosts {
  readonly model: CostModel;
  readonly lookup: CostLookup;
}

/** Resolved models by the frozen model each came from: a sandbox factory meters every load with one. */
const resolvedModels = new WeakMap<object, ResolvedCosts>();

/** Whether `costs` is an object frozen to its instructions (a caller may pass anything at all). */
function frozenModel(costs: unknown): costs is Partial<CostModel> {
  if (typeof costs !== 'object' || costs === null || !Object.isFrozen(costs)) return false;
  const { instructions } = costs as { instructions?: unknown };
  return instructions === undefined || Object.isFrozen(instructions);
}

/**
 * `costs` resolved (see `resolveCostModel`), with its lookup. A model frozen
 * to its instructions cannot change, so it is resolved once; any other is
 * resolved at each call.
 */
function resolvedCosts(costs: Partial<CostModel> | undefined): Result<ResolvedCosts, InvalidConfigError> {
  const given = costs ?? DEFAULT_COST_MODEL;
  const frozen = frozenModel(given);
  const kept = frozen ? resolvedModels.get(given) : undefined;
  if (kept !== undefined) return ok(kept);
  const model = resolveCostModel(given);
  if (!model.ok) return model;
  const resolved = { model: model.value, lookup: costLookup(model.value) };
  if (frozen) resolvedModels.set(given, resolved);
  return ok(resolved);
}

import {
  ABORT_MEMORY,
  ABORT_STOPPED,
  CONTROL_EXPORT,
  CONTROL_TAKE_ABORT,
  CONTROL_WRITE_GAS,
  METERING_IMPORT_MODULE,
  REFILL_IMPORT,
  RESERVED_PREFIX,
} from './names';

/** How to instrument. */
export interface MeteringOptions {
  /** Cost overrides over {@link DEFAULT_COST_MODEL}. */
  readonly costs?: Partial<CostModel> | undefined;
  /**
   * The memory limit in 64 KiB pages. A `memory.grow` that would pass it ends
   * the execution with `MEMORY_EXCEEDED` (unless `memoryGrowFailure` says
   * otherwise). Without it, `memory.grow` behaves as usual.
   */
  readonly memoryLimitPages?: number | undefined;
  /**
   * What a `memory.grow` past `memoryLimitPages` does: `'trap'` (default) ends
   * the execution with `MEMORY_EXCEEDED`; `'return-minus-one'` returns -1 to
   * the guest, as the WebAssembly specification allows (the memory's own
   * maximum must then enforce the limit, as the loader's clamping does).
   */
  readonly memoryGrowFailure?: 'trap' | 'return-minus-one' | undefined;
  /**
   * Whether straight-line code is paid ahead (default `true`): the code after
   * a construct, or after a forward `br_if`, is paid by the block before it,
   * and exits give back what they skip; the counter global is then stored
   * only where it is read (checks, calls, returns). `gasUsed` on success is the
   * same either way. `false` pays each block when it is entered and stores the
   * counter at every charge: slower, but exhaustion happens exactly when the
   * cost of what ran passes the limit, and a trap reports the cost of the
   * blocks entered. Modules with `try` are always metered as with `false`.
   */
  readonly chargeAhead?: boolean | undefined;
  /**
   * Other transforms that ride along (see `BodyRider` in `@ri-sandbox/core`):
   * for each defined function, by its index among the defined ones, their
   * scans see the original body during metering's walk and their insertions
   * are written with its output, their locals after metering's. Metering
   * writes each body before it asks for the next body's riders, so a call may
   * return the riders (and the list) of the previous one, emptied; each call
   * must return riders that start afresh (a module with `try` is walked twice).
   */
  readonly riders?: ((definedIndex: number) => readonly BodyRider[]) | undefined;
  /**
   * Whether small loops that call nothing are checked once per several
   * iterations (default `true`; see the package README). Gas, traps and
   * exhaustion are the same either way; `false` gives smaller code.
   */
  readonly unrollLoops?: boolean | undefined;
  /**
   * Whether the bodies of the result may be views of the buffer metering
   * writes them in, which the next metering writes again (default `false`:
   * they are views of one copy of it): set it only when the result is
   * encoded (see `encodeModule` in `@ri-sandbox/core`) or copied before
   * anything is metered again, as a load does. The copy is a fresh buffer the
   * size of the code, whose every page the system faults in.
   */
  readonly transientOutput?: boolean | undefined;
}

/** How many globals metering adds to a module (after its own): the gas counter, the abort flag and its argument. */
export const METERING_GLOBALS = 3;

/**
 * The indices of the globals {@link meterModule} adds to `module`, in order: they follow the module's
 * own (imported, then defined).
 */
export function meteringGlobals(module: WasmModule): readonly number[] {
  const first = module.imports.filter((i) => i.descriptor.kind === 'global').length + module.globals.length;
  return Array.from({ length: METERING_GLOBALS }, (_, i) => first + i);
}

const I64 = ValType.i64;
const I32 = ValType.i32;

/** What the helper functions metering adds need to know about the instrumented module. */
interface Plan {
  readonly model: CostModel;
  readonly gasGlobal: number;
  readonly fuelFunction: number;
}

/** Charges `units * unitCost` where `units` is the i32 in local `scratch` (`/ 64` rounded up when `per64`). */
function emitDynamicCharge(
  w: ByteWriter,
  charger: Charger,
  scratch: number,
  unitCost: number,
  per64: boolean,
): void {
  charger.chargeComputed(w, (w) => {
    w.u8(0x20).u32(scratch).u8(0xad); // local.get; i64.extend_i32_u
    if (per64) w.u8(0x42).s64(63n).u8(0x7c).u8(0x42).s64(6n).u8(0x88); // + 63, >> 6
    if (unitCost !== 1) w.u8(0x42).s64(BigInt(unitCost)).u8(0x7e); // * unitCost
  });
}

/**
 * Rewrites one function body after the bodies before it in the kernel's output (in WebAssembly, see
 * c/write.c): copies it through, inserting charges and rewriting what must change, with the riders'
 * insertions spliced in. Returns the new locals.
 */
function meterBody(
  body: FunctionBody,
  locals: number,
  settings: WriteSettings,
  scan: BodyScan,
  riders: readonly BodyRider[],
  lists: ScanLists,
): FunctionBody['locals'] {
  // Two locals are appended: the i64 balance (a copy of the counter), then (for bulk operations) an i32 scratch.
  const { needsScratch } = scan;
  // The riders' locals follow metering's: the balance, and the scratch if a bulk operation needs it.
  const inserted = finishRiders(riders, needsScratch ? locals + 2 : locals + 1, lists.finished);
  lists.kernel.write(body.code.length, locals, settings, inserted);
  // Filled to its length, which is known: a copy grown by pushes would keep room for 16 more groups.
  const own = body.locals;
  let length = own.length + (needsScratch ? 2 : 1);
  for (const insertions of inserted) length += insertions.locals?.length ?? 0;
  const allLocals = new Array<LocalGroup>(length);
  let at = 0;
  for (const group of own) allLocals[at++] = group;
  allLocals[at++] = BALANCE_LOCAL;
  if (needsScratch) allLocals[at++] = SCRATCH_LOCAL;
  for (const insertions of inserted)
    if (insertions.locals !== undefined) for (const group of insertions.locals) allLocals[at++] = group;
  return allLocals;
}

/** What a body without riders rides with. */
const NO_RIDERS: readonly BodyRider[] = [];

/**
 * The locals metering appends to a body, shared by every body (locals are read only; not frozen, so
 * that every local group the encoder reads has one shape).
 */
const BALANCE_LOCAL: LocalGroup = { count: 1, type: I64 };
const SCRATCH_LOCAL: LocalGroup = { count: 1, type: I32 };

/**
 * The lists (see `ScanLists`) meterings share, each taking them while it runs (so one started by a rider
 * in the middle of another makes its own). Their kernel's memory holds the last metering's bodies: when
 * they are more than {@link KEPT_OUTPUT_BYTES}, the lists are kept only until the collector wants them.
 */
let idleLists: ScanLists | undefined;
let idleLarge: WeakRef<ScanLists> | undefined;

/** The most bytes of kernel memory the idle lists keep for good (the output of about 4 MB of code). */
const KEPT_OUTPUT_BYTES = 8 << 20;

/** The idle lists, taken (a metering that starts before they are given back makes its own). */
function takeLists(): ScanLists {
  const lists = idleLists ?? idleLarge?.deref() ?? new ScanLists();
  idleLists = undefined;
  idleLarge = undefined;
  return lists;
}

/** Gives `lists` back, letting go of what they held of the last module. */
function giveBack(lists: ScanLists): void {
  lists.release();
  if (lists.kernelBytes <= KEPT_OUTPUT_BYTES) idleLists = lists;
  else idleLarge = new WeakRef(lists);
}

/** What {@link warmUpMetering} scans: 4,096 `i32.const 0; drop` pairs in blocks of 64, then `end`. */
function warmUpBody(): Uint8Array {
  const block = [0x02, 0x40, ...Array.from({ length: 64 }, () => [0x41, 0x00, 0x1a]).flat(), 0x0b];
  return Uint8Array.from([...Array.from({ length: 64 }, () => block).flat(), 0x0b]);
}

let warm = false;

/**
 * Compiles metering's scan (WebAssembly, see `scanBody`) and runs it over
 * one body, once per thread, so that the first load finds it compiled: call
 * it before compiling a large guest (JavaScriptCore compiles a module made
 * after a large guest only once that guest's tier-up is done).
 * `createWasmSandbox` calls it. Throws if the engine refuses to compile (a
 * Content-Security-Policy without `wasm-unsafe-eval`).
 */
export function warmUpMetering(): void {
  if (warm) return;
  const lists = takeLists();
  try {
    scanBody(warmUpBody(), costLookup(DEFAULT_COST_MODEL), NO_CALLEES, { types: [], results: 0 }, [], lists);
  } finally {
    giveBack(lists);
  }
  warm = true;
}

/** Calls of a body that calls nothing. */
const NO_CALLEES = { importedFunctions: 0, ownTables: new Set<number>() };

/** `() -> ()`: asks the host for more gas; traps (uncatchably) when the host says stop. */
function fuelFunctionBody(plan: Plan, refillFunction: number, abortGlobal: number): FunctionBody {
  const code: Instruction[] = [
    instruction('global.get', plan.gasGlobal),
    instruction('call', refillFunction),
    instruction('global.set', plan.gasGlobal),
    instruction('global.get', plan.gasGlobal),
    instruction('i64.const', 0n),
    instruction('i64.lt_s'),
    instruction('if', -64),
    instruction('i32.const', ABORT_STOPPED),
    instruction('global.set', abortGlobal),
    instruction('unreachable'),
    instruction('end'),
    instruction('end'),
  ];
  return { locals: [], code: encodeInstructions(code) };
}

/**
 * `(op: i32, value: f64) -> f64`, the host's way to the counters (see `CONTROL_EXPORT`), for the
 * globals at `gasGlobal` (the counter), `gasGlobal + 1` (the abort flag) and `gasGlobal + 2` (its
 * argument): numbers, where reading or writing the i64 globals would make BigInts, and one export
 * instead of three globals (each export costs every instantiation).
 */
function controlFunctionBody(gasGlobal: number): FunctionBody {
  const is = (op: number) => [
    instruction('local.get', 0),
    instruction('i32.const', op),
    instruction('i32.eq'),
    instruction('if', -64),
  ];
  const code: Instruction[] = [
    // CONTROL_READ_GAS, the hot one, first.
    instruction('block', -64),
    instruction('local.get', 0),
    instruction('br_if', 0),
    instruction('global.get', gasGlobal),
    instruction('f64.convert_i64_s'),
    instruction('return'),
    instruction('end'),
    ...is(CONTROL_WRITE_GAS),
    instruction('local.get', 1),
    instruction('i64.trunc_sat_f64_s'),
    instruction('global.set', gasGlobal),
    instruction('f64.const', 0n),
    instruction('return'),
    instruction('end'),
    ...is(CONTROL_TAKE_ABORT),
    instruction('global.get', gasGlobal + 1),
    instruction('f64.convert_i32_u'),
    instruction('i32.const', 0),
    instruction('global.set', gasGlobal + 1),
    instruction('return'),
    instruction('end'),
    // CONTROL_READ_ABORT_ARGUMENT.
    instruction('global.get', gasGlobal + 2),
    instruction('f64.convert_i64_s'),
    instruction('end'),
  ];
  return { locals: [], code: encodeInstructions(code) };
}

/**
 * `(pages: i32) -> i32`: charges for the pages, then, when growing would pass
 * `limitPages`, traps with `ABORT_MEMORY` (the bytes asked for in the abort
 * argument); otherwise grows as `memory.grow` does, -1 on failure included.
 */
function growFunctionBody(
  plan: Plan,
  abortGlobal: number,
  abortArgGlobal: number,
  limitPages: number | undefined,
): FunctionBody {
  // Locals: 0 = pages (the parameter), 1 = the balance of the charge, 2 = the size asked for.
  const charge = new ByteWriter();
  if (plan.model.memoryGrowPerPage > 0) {
    const charger = new Charger(plan.gasGlobal, plan.fuelFunction, 1);
    charger.reload(charge);
    emitDynamicCharge(charge, charger, 0, plan.model.memoryGrowPerPage, false);
  }
  const limit: Instruction[] =
    limitPages === undefined
      ? []
      : [
          instruction('memory.size', 0),
          instruction('i64.extend_i32_u'),
          instruction('local.get', 0),
          instruction('i64.extend_i32_u'),
          instruction('i64.add'),
          instruction('local.tee', 2),
          instruction('i64.const', BigInt(limitPages)),
          instruction('i64.gt_u'),
          instruction('if', -64),
          instruction('local.get', 2),
          instruction('i64.const', 65536n),
          instruction('i64.mul'),
          instruction('global.set', abortArgGlobal),
          instruction('i32.const', ABORT_MEMORY),
          instruction('global.set', abortGlobal),
          instruction('unreachable'),
          instruction('end'),
        ];
  const rest = encodeInstructions([
    ...limit,
    instruction('local.get', 0),
    instruction('memory.grow', 0),
    instruction('end'),
  ]);
  const code = new ByteWriter().bytes(charge.finish()).bytes(rest).finish();
  return { locals: [{ count: 2, type: I64 }], code };
}

function reservedNameUsed(module: WasmModule): string | undefined {
  const clash = module.exports.find((e) => e.name.startsWith(RESERVED_PREFIX));
  if (clash !== undefined) return `export "${clash.name}"`;
  const imported = module.imports.find((i) => i.module === METERING_IMPORT_MODULE);
  return imported === undefined ? undefined : `import module "${METERING_IMPORT_MODULE}"`;
}

/**
 * Instruments a decoded module for gas metering. The module need not have
 * been validated: an invalid one gives an invalid result (which the engine
 * refuses to compile) or `INVALID_MODULE`, never a valid one. What metering
 * adds (an import, globals, helper functions, types, locals) would otherwise
 * be named by an index one past the module's own, so such indices are
 * refused, in the bodies as they are scanned and elsewhere with
 * `findUnknownIndex`; so is a `memory.grow` of another memory than the
 * first, which its helper replaces. The result imports
 * `__ri_metering.refill` (after the module's own function imports, so defined
 * functions shift by one) and exports the host's way to its counters
 * (`__ri_meter`, see `CONTROL_EXPORT`).
 * Fails with `INVALID_CONFIG` for a bad cost model and `INVALID_MODULE` for a
 * malformed body or a module that uses the reserved names (an export whose
 * name starts with `__ri_`, the import module `__ri_metering`).
 */
export function meterModule(
  module: WasmModule,
  options: MeteringOptions = {},
): Result<WasmModule, SandboxError> {
  const costs = resolvedCosts(options.costs);
  if (!costs.ok) return costs;
  const clash = reservedNameUsed(module);
  if (clash !== undefined) return err(sandboxError.invalidModule(`the module uses the reserved ${clash}`));
  // What the instrumentation adds must not be named by an index past the module's own (see `scanBody`).
  // What each body's indices are checked against: the module's spaces, and its own locals, set body by body.
  const bounds = Object.assign({ locals: 0 }, indexSpaces(module));
  const unknownIndex = findUnknownIndex(module, bounds);
  if (unknownIndex !== undefined) return err(sandboxError.invalidModule(unknownIndex));

  const importedFunctions = importedFunctionCount(module);
  const definedFunctions = module.functions.length;
  const hasMemory = module.memories.length > 0 || module.imports.some((i) => i.descriptor.kind === 'memory');

  const typeBase = module.types.length;
  const types: FuncType[] = [
    ...module.types,
    { params: [I64], results: [I64] },
    { params: [], results: [] },
    { params: [I32], results: [I32] },
    { params: [I32, ValType.f64], results: [ValType.f64] },
  ];
  const refillImport: Import = {
    module: METERING_IMPORT_MODULE,
    name: REFILL_IMPORT,
    descriptor: { kind: 'function', type: typeBase },
  };
  const globalBase = meteringGlobals(module)[0] as number;
  const newGlobals: Global[] = [
    { type: { valueType: I64, mutable: true }, init: [instruction('i64.const', 0n)] },
    { type: { valueType: I32, mutable: true }, init: [instruction('i32.const', 0)] },
    { type: { valueType: I64, mutable: true }, init: [instruction('i64.const', 0n)] },
  ];
  const { model, lookup } = costs.value;
  // After the shift, defined functions end at importedFunctions + definedFunctions; helpers follow.
  const plan: Plan = { model, gasGlobal: globalBase, fuelFunction: importedFunctions + 1 + definedFunctions };

  let code: FunctionBody[];
  // Each body's scan and plan are used up (written) before the next body's are made: they share lists,
  // and meterings share them too (one started by a rider of this one makes its own).
  const lists = takeLists();
  try {
    // All bodies are written one after another in the kernel's output and handed out as views of it
    // (or of a copy of it). Each body is scanned and written in turn (no scan outlives its body); a
    // `try` turns paying ahead off for the whole module, and a write to a table checks every indirect
    // call, so meeting one after bodies were written otherwise starts again without it.
    // What each body is written with, paying ahead as decided so far.
    const settingsWith = (hoist: boolean): WriteSettings => ({
      hoist,
      unroll: options.unrollLoops !== false,
      importedFunctions,
      gasGlobal: globalBase,
      fuelFunction: plan.fuelFunction,
      growFunction: importedFunctions + 2 + definedFunctions,
      memoryUnit: model.memoryPer64Bytes,
      tableUnit: model.tablePerElement,
    });
    let settings = settingsWith(options.chargeAhead !== false);
    const { kernel } = lists;
    kernel.startOutput();
    // Where each body's code ends in the output, and its locals: views are made once all are written.
    const ends = new NumberList();
    // Each body's locals, by index: sized once (see `AppendedFunctions` on large lists).
    const bodyLocals = new Array<FunctionBody['locals']>(module.code.length);
    let callees: Callees = { importedFunctions, ownTables: ownTables(module) };
    const scans: InstructionVisitor[] = [];
    for (let i = 0; i < module.code.length; i++) {
      bounds.locals = localCount(module, i);
      const riders = options.riders?.(i) ?? NO_RIDERS;
      // Cut by `pop`: setting `length` is a call into the engine's runtime, each body.
      while (scans.length > riders.length) scans.pop();
      for (let r = 0; r < riders.length; r++) scans[r] = (riders[r] as BodyRider).scan;
      const scanned = scanBody(
        (module.code[i] as FunctionBody).code,
        lookup,
        callees,
        { types: module.types, results: module.types[module.functions[i] as number]?.results.length ?? 0 },
        scans,
        lists,
        bounds,
      );
      const restart =
        (scanned.catches && settings.hoist) || (scanned.writesTables && callees.ownTables.size > 0);
      if (restart) {
        if (scanned.catches) settings = settingsWith(false);
        if (scanned.writesTables) callees = { importedFunctions, ownTables: NO_OWN_TABLES };
        kernel.startOutput();
        ends.clear();
        i = -1;
        continue;
      }
      const body = module.code[i] as FunctionBody;
      bodyLocals[i] = meterBody(body, bounds.locals, settings, scanned, riders, lists);
      ends.push(kernel.outputSize);
    }
    // Views of the output (not written again until the next metering) or of one copy of it.
    const all = options.transientOutput === true ? kernel.output : kernel.output.slice();
    code = bodyLocals.map((locals, i) => ({
      locals,
      code: all.subarray(i === 0 ? 0 : ends.at(i - 1), ends.at(i)),
    }));
  } catch (error) {
    // A body that cannot be read, or that cannot take the added locals (2^32 - 1 of them already).
    if (
      error instanceof WasmDecodeError ||
      error instanceof WasmEncodeError ||
      error instanceof ScanUnavailable
    )
      return err(sandboxError.invalidModule(error.message));
    throw error;
  } finally {
    giveBack(lists);
  }
  const shifted = remapFunctionReferences(module, (index) =>
    index >= importedFunctions ? index + 1 : index,
  );
  const imports = [...module.imports, refillImport];
  // Appended after the refill import, which shifts the module's own functions by one.
  const appended = new AppendedFunctions(derivedModule(shifted, { imports }));
  appended.add(typeBase + 1, fuelFunctionBody(plan, importedFunctions, globalBase + 1));
  if (hasMemory) {
    const trapAt = options.memoryGrowFailure === 'return-minus-one' ? undefined : options.memoryLimitPages;
    appended.add(typeBase + 2, growFunctionBody(plan, globalBase + 1, globalBase + 2, trapAt));
  }
  // The host's one way to the counters (see CONTROL_EXPORT).
  const controlFunction = appended.add(typeBase + 3, controlFunctionBody(globalBase));
  const joined = appended.joined(code);
  return ok(
    derivedModule(shifted, {
      types,
      imports,
      globals: [...shifted.globals, ...newGlobals],
      exports: [...shifted.exports, { name: CONTROL_EXPORT, kind: 'function', index: controlFunction }],
      functions: joined.functions,
      code: joined.code,
    }),
  );
}

/** Instrumented bytes, ready to instantiate with the host's own imports plus a {@link Meter}'s. */
export interface MeteredModule {
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/**
 * Instruments module bytes: validate, decode, {@link meterModule}, encode.
 * For hosts that instantiate modules themselves; see the package README.
 * Bytes that do not validate are `INVALID_MODULE`: the instrumentation must
 * never turn an invalid module into a valid one (an out-of-range function,
 * global or local index would otherwise name what the instrumentation added).
 */
export function instrument(
  bytes: Uint8Array,
  options: MeteringOptions = {},
): Result<MeteredModule, SandboxError> {
  if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>))
    return err(sandboxError.invalidModule('fails validation (WebAssembly.validate)'));
  let module: WasmModule;
  try {
    module = decodeModule(bytes);
  } catch (error) {
    return err(sandboxError.invalidModule(thrownReason(error)));
  }
  // Encoded at once: the bodies can be written where the last metering wrote its own.
  const metered = meterModule(module, Object.assign({}, options, { transientOutput: true }));
  if (!metered.ok) return metered;
  return ok({ bytes: encodeModule(metered.value) });
}
