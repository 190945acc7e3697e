/**
 * `exposeState`: rewrites a module so that everything a snapshot must capture
 * can be read and written from outside, as Wizer and the Internet Computer do.
 * Hidden mutable globals (clang's `__stack_pointer`, another transform's
 * counters) are exported under reserved names; float and v128 globals get
 * bit-exact accessor functions; tables the module can change at run time are
 * exported with every function a reference can name; `data.drop`/`elem.drop`
 * leave a flag behind so a restored instance can drop the same segments; and
 * the start function becomes an export, so that re-instantiating for a
 * restore runs no guest code.
 */
import {
  AppendedFunctions,
  derivedModule,
  ByteWriter,
  type InstructionVisitor,
  type Export,
  type FuncType,
  type FunctionBody,
  type Global,
  type Instruction,
  type Result,
  type SandboxError,
  ValType,
  type WasmModule,
  forEachDataSegment,
  err,
  instruction,
  ok,
  sandboxError,
  instructionEnd,
  lebEnd,
  opcodeSet,
  readLeb,
  subOpcode,
  walkBody,
  walkEnd,
} from '@ri-sandbox/core';
import type { GlobalAccess, StateLayout, TableAccess } from './layout';
import type { SavedValue } from './state';

/** Every name this transform adds starts with this; a module may not export such names itself. */
export const STATE_EXPORT_PREFIX = '__ri_snapshot_';

const name = (what: string, index: number | string) => `${STATE_EXPORT_PREFIX}${what}_${index}`;

const TYPE_NAMES = new Map<number, SavedValue['type']>([
  [ValType.i32, 'i32'],
  [ValType.i64, 'i64'],
  [ValType.f32, 'f32'],
  [ValType.f64, 'f64'],
  [ValType.v128, 'v128'],
  [ValType.funcref, 'funcref'],
  [ValType.externref, 'externref'],
]);

/** Opcodes the accessors are written with. */
const Op = {
  end: 0x0b,
  if: 0x04,
  void: 0x40,
  localGet: 0x20,
  globalGet: 0x23,
  globalSet: 0x24,
  i32Const: 0x41,
  i32ReinterpretF32: 0xbc,
  i64ReinterpretF64: 0xbd,
  f32ReinterpretI32: 0xbe,
  f64ReinterpretI64: 0xbf,
  misc: 0xfc,
  dataDrop: 9,
  elemDrop: 13,
  simd: 0xfd,
  i64x2Splat: 0x12,
  i64x2ExtractLane: 0x1d,
  i64x2ReplaceLane: 0x1e,
} as const;

/** What a scan of the function bodies found. */
interface BodyFacts {
  /** Tables some instruction can change. */
  readonly mutatedTables: Set<number>;
  readonly droppedData: Set<number>;
  readonly droppedElements: Set<number>;
}

// Sub-opcodes (after 0xFC) of the instructions the scan follows.
const MISC_TABLE_INIT = 12;
const MISC_TABLE_COPY = 14;
const MISC_TABLE_GROW = 15;
const MISC_TABLE_FILL = 17;
const TABLE_SET = 0x26;

/**
 * What `exposeState` needs to know of the function bodies: the tables their
 * instructions change, the segments they drop, and which bodies drop one.
 * Fill it with {@link StateScan}s (during another pass's walk, as riders) and
 * give it to `exposeState`, which then walks no body to find them.
 */
export class ScannedState {
  readonly facts: BodyFacts = {
    mutatedTables: new Set(),
    droppedData: new Set(),
    droppedElements: new Set(),
  };
  /** Defined functions (by their index among the defined ones) that drop a segment. */
  readonly dropping = new Set<number>();

  /** The one scan, pointed at each body in turn. */
  private readonly current = new StateScan(this);

  /**
   * The scan of defined function `definedIndex`'s body, adding to these facts: the same scan at
   * every call, pointed at that body (scan each body before asking for the next one's).
   */
  scan(definedIndex: number): InstructionVisitor {
    this.current.definedIndex = definedIndex;
    return this.current;
  }
}

/** What a {@link StateScan} looks at: `table.set`, and the prefix of the other table and segment instructions. */
const STATE_OPCODES = opcodeSet([TABLE_SET, Op.misc]);

/** One body's part of a {@link ScannedState}. */
class StateScan implements InstructionVisitor {
  readonly opcodes = STATE_OPCODES;
  /** The body being scanned. */
  definedIndex = 0;

  constructor(private readonly state: ScannedState) {}

  visit(code: Uint8Array, start: number): void {
    const byte = code[start] as number;
    const { facts } = this.state;
    if (byte === TABLE_SET) facts.mutatedTables.add(readLeb(code, start + 1));
    if (byte !== Op.misc) return;
    const immediate = lebEnd(code, start + 1);
    switch (subOpcode(code, start)) {
      case MISC_TABLE_GROW:
      case MISC_TABLE_FILL:
      case MISC_TABLE_COPY:
        facts.mutatedTables.add(readLeb(code, immediate));
        break;
      case MISC_TABLE_INIT:
        facts.mutatedTables.add(readLeb(code, lebEnd(code, immediate)));
        break;
      case Op.dataDrop:
        facts.droppedData.add(readLeb(code, immediate));
        this.state.dropping.add(this.definedIndex);
        break;
      case Op.elemDrop:
        facts.droppedElements.add(readLeb(code, immediate));
        this.state.dropping.add(this.definedIndex);
        break;
    }
  }
}

function scanBodies(module: WasmModule): ScannedState {
  const state = new ScannedState();
  module.code.forEach(({ code }, i) => {
    // 0x26 is table.set and 0xFC prefixes the rest; a body with neither byte has none of them.
    if (code.includes(Op.misc) || code.includes(TABLE_SET)) walkBody(code, [state.scan(i)]);
  });
  return state;
}

/** Appends `global.set flag = 1` after every `data.drop`/`elem.drop` of a tracked segment. */
function flagDrops(
  body: FunctionBody,
  dataFlags: ReadonlyMap<number, number>,
  elementFlags: ReadonlyMap<number, number>,
): FunctionBody {
  const { code } = body;
  if (!code.includes(Op.misc)) return body;
  const w = new ByteWriter(code.length + 16);
  let copied = 0;
  let p = 0;
  while (p < code.length) {
    const start = p;
    p = instructionEnd(code, p);
    if (code[start] !== Op.misc) continue;
    const sub = subOpcode(code, start);
    if (sub !== Op.dataDrop && sub !== Op.elemDrop) continue;
    const flags = sub === Op.dataDrop ? dataFlags : elementFlags;
    const flag = flags.get(readLeb(code, lebEnd(code, start + 1))) as number;
    w.range(code, copied, p);
    copied = p;
    w.u8(Op.i32Const).s32(1).u8(Op.globalSet).u32(flag);
  }
  walkEnd(p, code.length);
  if (copied === 0) return body;
  w.range(code, copied, code.length);
  return { locals: body.locals, code: w.finish() };
}

/** Function indices a reference can hold: those named outside function bodies (the spec's "declared" ones). */
function referenceableFunctions(module: WasmModule): number[] {
  const found = new Set<number>();
  const fromExpression = (expression: readonly Instruction[]) => {
    for (const instr of expression) if (instr.op.name === 'ref.func') found.add(instr.immediate as number);
  };
  for (const segment of module.elements) {
    if (segment.init.kind === 'functions') for (const index of segment.init.indices) found.add(index);
    else segment.init.expressions.forEach(fromExpression);
  }
  for (const global of module.globals) fromExpression(global.init);
  for (const e of module.exports) if (e.kind === 'function') found.add(e.index);
  return [...found].sort((a, b) => a - b);
}

/** Adds function types, reusing equal ones. */
class TypePool {
  readonly types: FuncType[];

  constructor(types: readonly FuncType[]) {
    this.types = [...types];
  }

  index(params: readonly ValType[], results: readonly ValType[]): number {
    const same = (a: readonly ValType[], b: readonly ValType[]) =>
      a.length === b.length && a.every((t, i) => t === b[i]);
    const found = this.types.findIndex((t) => same(t.params, params) && same(t.results, results));
    if (found !== -1) return found;
    this.types.push({ params, results });
    return this.types.length - 1;
  }
}

/** Accessor bodies for a float or v128 global: [getter, setter] with their types. */
function accessorBodies(
  global: number,
  type: 'f32' | 'f64' | 'v128',
): readonly [[ValType[], ValType[], Uint8Array], [ValType[], ValType[], Uint8Array]] {
  const get = new ByteWriter(16);
  const set = new ByteWriter(16);
  if (type === 'v128') {
    get.u8(Op.globalGet).u32(global).u8(Op.simd).u32(Op.i64x2ExtractLane).u8(0);
    get.u8(Op.globalGet).u32(global).u8(Op.simd).u32(Op.i64x2ExtractLane).u8(1);
    set.u8(Op.localGet).u32(0).u8(Op.simd).u32(Op.i64x2Splat);
    set.u8(Op.localGet).u32(1).u8(Op.simd).u32(Op.i64x2ReplaceLane).u8(1);
    set.u8(Op.globalSet).u32(global);
    const pair = [ValType.i64, ValType.i64];
    return [
      [[], pair, get.u8(Op.end).finish()],
      [pair, [], set.u8(Op.end).finish()],
    ];
  }
  const bits = type === 'f32' ? ValType.i32 : ValType.i64;
  get
    .u8(Op.globalGet)
    .u32(global)
    .u8(type === 'f32' ? Op.i32ReinterpretF32 : Op.i64ReinterpretF64);
  set
    .u8(Op.localGet)
    .u32(0)
    .u8(type === 'f32' ? Op.f32ReinterpretI32 : Op.f64ReinterpretI64);
  set.u8(Op.globalSet).u32(global);
  return [
    [[], [bits], get.u8(Op.end).finish()],
    [[bits], [], set.u8(Op.end).finish()],
  ];
}

/** No global. */
const NO_GLOBALS: ReadonlySet<number> = new Set();

/** The rewritten module and where its state can be found. */
export interface ExposedModule {
  readonly module: WasmModule;
  readonly layout: StateLayout;
}

/**
 * Rewrites `module` so that its whole state can be captured and restored from
 * outside (see the package README). Run it after every other transform, so
 * that their globals are exposed too. Fails with `INVALID_MODULE` if the
 * module already exports a name with the reserved prefix.
 */
export function exposeState(
  module: WasmModule,
  /**
   * What a scan of the bodies found, if one was made already (see {@link ScannedState}): of these
   * bodies, or of those they were made from by transforms that add no table or segment instructions.
   */
  scanned?: ScannedState,
  /**
   * Globals (by index) that are not state: another transform's own, which hold nothing between the
   * guest's runs (metering's counters, which its host sets before each run). They are neither
   * exposed nor captured, and a restore leaves them as they are.
   */
  idleGlobals: ReadonlySet<number> = NO_GLOBALS,
): Result<ExposedModule, SandboxError> {
  const clash = module.exports.find((e) => e.name.startsWith(STATE_EXPORT_PREFIX));
  if (clash !== undefined)
    return err(sandboxError.invalidModule(`the module uses the reserved export name ${clash.name}`));
  const state =
    module.tables.length > 0 ||
    module.imports.some((i) => i.descriptor.kind === 'table') ||
    hasPassive(module)
      ? (scanned ?? scanBodies(module))
      : new ScannedState();
  const { facts } = state;

  const importedGlobals = module.imports.filter((i) => i.descriptor.kind === 'global');
  const globals: Global[] = [...module.globals];
  const flagFor = () => {
    globals.push({ type: { valueType: ValType.i32, mutable: true }, init: [instruction('i32.const', 0)] });
    return importedGlobals.length + globals.length - 1;
  };
  const dataFlags = new Map([...facts.droppedData].sort((a, b) => a - b).map((s) => [s, flagFor()]));
  const elementFlags = new Map([...facts.droppedElements].sort((a, b) => a - b).map((s) => [s, flagFor()]));

  const types = new TypePool(module.types);
  const appended = new AppendedFunctions(module);
  // Most bodies drop no segment: the module's own list serves when none does.
  const code =
    state.dropping.size === 0
      ? module.code
      : module.code.map((body, i) =>
          state.dropping.has(i) ? flagDrops(body, dataFlags, elementFlags) : body,
        );
  const exports: Export[] = [...module.exports];
  const addFunction = (params: ValType[], results: ValType[], body: Uint8Array, exportName: string) => {
    const index = appended.add(types.index(params, results), { locals: [], code: body });
    exports.push({ name: exportName, kind: 'function', index });
  };

  const globalTypes = [
    ...importedGlobals.map((i) => (i.descriptor as { global: Global['type'] }).global),
    ...globals.map((g) => g.type),
  ];
  // A global the module exports already is read and written through that export: a second export of
  // it would be a second `WebAssembly.Global` made at every instantiation (about 0.5 µs each in V8).
  const exportedGlobals = new Map<number, string>();
  for (const e of module.exports)
    if (e.kind === 'global' && !exportedGlobals.has(e.index)) exportedGlobals.set(e.index, e.name);
  const access: GlobalAccess[] = [];
  globalTypes.forEach((type, index) => {
    if (!type.mutable || idleGlobals.has(index)) return;
    const typeName = TYPE_NAMES.get(type.valueType) as SavedValue['type'];
    if (typeName === 'f32' || typeName === 'f64' || typeName === 'v128') {
      const [getter, setter] = accessorBodies(index, typeName);
      addFunction(...getter, name('get', index));
      addFunction(...setter, name('set', index));
      access.push({
        index,
        type: typeName,
        access: { kind: 'accessors', getter: name('get', index), setter: name('set', index) },
      });
    } else {
      let exportName = exportedGlobals.get(index);
      if (exportName === undefined) {
        exportName = name('global', index);
        exports.push({ name: exportName, kind: 'global', index });
      }
      access.push({ index, type: typeName, access: { kind: 'global', exportName } });
    }
  });

  const tableTypes = [
    ...module.imports.flatMap((i) => (i.descriptor.kind === 'table' ? [i.descriptor.table] : [])),
    ...module.tables,
  ];
  const exportedTables = new Set(module.exports.filter((e) => e.kind === 'table').map((e) => e.index));
  const tables: TableAccess[] = [];
  tableTypes.forEach((type, index) => {
    if (!facts.mutatedTables.has(index) && !exportedTables.has(index)) return;
    exports.push({ name: name('table', index), kind: 'table', index });
    tables.push({
      index,
      exportName: name('table', index),
      elementType: type.elementType === ValType.funcref ? 'funcref' : 'externref',
      minimum: type.limits.min,
      maximum: type.limits.max,
    });
  });

  const needsFunctions =
    tables.some((t) => t.elementType === 'funcref') || access.some((g) => g.type === 'funcref');
  const referenceable = needsFunctions ? referenceableFunctions(module) : [];
  for (const index of referenceable) exports.push({ name: name('func', index), kind: 'function', index });

  let redrop: string | undefined;
  if (dataFlags.size + elementFlags.size > 0) {
    const w = new ByteWriter(32);
    for (const [segment, flag] of dataFlags)
      w.u8(Op.globalGet).u32(flag).u8(Op.if).u8(Op.void).u8(Op.misc).u32(Op.dataDrop).u32(segment).u8(Op.end);
    for (const [segment, flag] of elementFlags)
      w.u8(Op.globalGet).u32(flag).u8(Op.if).u8(Op.void).u8(Op.misc).u32(Op.elemDrop).u32(segment).u8(Op.end);
    redrop = `${STATE_EXPORT_PREFIX}redrop`;
    addFunction([], [], w.u8(Op.end).finish(), redrop);
  }

  let memory: string | undefined;
  if (module.memories.length > 0 || module.imports.some((i) => i.descriptor.kind === 'memory')) {
    memory = `${STATE_EXPORT_PREFIX}memory`;
    exports.push({ name: memory, kind: 'memory', index: 0 });
  }

  let start: string | undefined;
  if (module.start !== undefined) {
    start = `${STATE_EXPORT_PREFIX}start`;
    exports.push({ name: start, kind: 'function', index: module.start });
  }

  const joined = appended.joined(code);
  return ok({
    module: derivedModule(module, {
      types: types.types,
      functions: joined.functions,
      code: joined.code,
      globals,
      exports,
      start: undefined,
    }),
    layout: {
      memory,
      globals: access,
      tables,
      functions: referenceable.map((index) => ({ index, exportName: name('func', index) })),
      dropFlags: [...dataFlags.values(), ...elementFlags.values()],
      redrop,
      start,
    },
  });
}

function hasPassive(module: WasmModule): boolean {
  let passiveData = 0;
  forEachDataSegment(module, (mode) => {
    if (mode === 'passive') passiveData++;
  });
  return passiveData > 0 || module.elements.some((e) => e.mode === 'passive');
}
