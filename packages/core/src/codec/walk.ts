/**
 * The fast walk over instruction bytes that every transform's scan is built
 * on: an instruction's end found through a table indexed by its opcode byte
 * (a sub-opcode table for the prefixed spaces), LEB128 immediates skipped
 * without being decoded, no object allocated per instruction. It expects a
 * body that passed validation; on other bytes it still never reads out of
 * bounds, throws `WasmDecodeError` on an unknown opcode, and a walk that ends
 * past the body is caught by {@link walkEnd}.
 */
import { WasmDecodeError } from './bytes';
import { type ImmediateKind, OPCODES, PREFIX_ATOMIC, PREFIX_MISC, PREFIX_SIMD } from './opcodes';

// How the immediates after an opcode are laid out.
const NONE = 0;
const LEB = 1;
const TWO_LEBS = 2;
const MEMARG = 3;
const FOUR_BYTES = 4;
const EIGHT_BYTES = 5;
const BR_TABLE = 6;
const SELECT_TYPES = 7;
const PREFIX = 8;
const ONE_BYTE = 9;
const SIXTEEN_BYTES = 10;
const MEMARG_LANE = 11;
const UNKNOWN = 255;

const LAYOUT_OF: Readonly<Record<ImmediateKind, number>> = {
  none: NONE,
  blocktype: LEB,
  label: LEB,
  function: LEB,
  local: LEB,
  global: LEB,
  table: LEB,
  tag: LEB,
  memory: LEB,
  data: LEB,
  elem: LEB,
  i32: LEB,
  i64: LEB,
  call_indirect: TWO_LEBS,
  'memory.init': TWO_LEBS,
  'memory.copy': TWO_LEBS,
  'table.init': TWO_LEBS,
  'table.copy': TWO_LEBS,
  memarg: MEMARG,
  f32: FOUR_BYTES,
  f64: EIGHT_BYTES,
  br_table: BR_TABLE,
  select_types: SELECT_TYPES,
  heaptype: ONE_BYTE,
  lane: ONE_BYTE,
  fence: ONE_BYTE,
  v128: SIXTEEN_BYTES,
  shuffle: SIXTEEN_BYTES,
  memarg_lane: MEMARG_LANE,
};

/** The largest sub-opcode of any prefixed space, plus one. */
const SUB_OPCODES = 0x200;
const SINGLE = new Uint8Array(0x100).fill(UNKNOWN);
/** Per prefix byte, the layouts of its sub-opcodes. */
const PREFIXED = new Map<number, Uint8Array>(
  [PREFIX_MISC, PREFIX_SIMD, PREFIX_ATOMIC].map((prefix) => [
    prefix,
    new Uint8Array(SUB_OPCODES).fill(UNKNOWN),
  ]),
);
for (const op of OPCODES) {
  const table = op.prefix === undefined ? SINGLE : (PREFIXED.get(op.prefix) as Uint8Array);
  table[op.code] = LAYOUT_OF[op.immediate];
}
for (const prefix of PREFIXED.keys()) SINGLE[prefix] = PREFIX;
/**
 * The tables {@link instructionEnd} walks by, for a walk written elsewhere (in WebAssembly, say):
 * per single-byte opcode, then per prefix byte and sub-opcode (below 512), how its immediates are
 * laid out. The codes: 0 none, 1 one LEB128 number, 2 two, 3 a memory argument (with a memory
 * index when its flags have bit 6), 4 four bytes, 5 eight, 6 a `br_table`'s labels, 7 `select`'s
 * types (a count, then a byte each), 8 a prefix (the sub-opcode, a LEB128 number, follows), 9 one
 * byte, 10 sixteen bytes, 11 a memory argument and a lane byte, 255 an unknown opcode. Read only.
 */
export const INSTRUCTION_LAYOUTS: {
  readonly single: Uint8Array;
  readonly prefixed: ReadonlyMap<number, Uint8Array>;
} = { single: SINGLE, prefixed: PREFIXED };

const MISC = PREFIXED.get(PREFIX_MISC) as Uint8Array;
const SIMD = PREFIXED.get(PREFIX_SIMD) as Uint8Array;
const ATOMIC = PREFIXED.get(PREFIX_ATOMIC) as Uint8Array;

/** The offset just past the LEB128 number that starts at `p`. */
export function lebEnd(code: Uint8Array, p: number): number {
  let at = p;
  while ((code[at++] as number) & 0x80);
  return at;
}

/**
 * The unsigned LEB128 number at `p` (an index, a label, a sub-opcode), for
 * validated bytes: up to 2^53 without overflow checks.
 */
export function readLeb(code: Uint8Array, p: number): number {
  let value = 0;
  let scale = 1;
  let at = p;
  for (;;) {
    const byte = code[at++] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return value;
    scale *= 128;
  }
}

function unknown(code: Uint8Array, p: number): never {
  const byte = code[p] as number;
  const what =
    SINGLE[byte] === PREFIX ? `0x${byte.toString(16)} ${readLeb(code, p + 1)}` : `0x${byte.toString(16)}`;
  throw new WasmDecodeError(`unknown opcode ${what}`, p);
}

function immediatesEnd(code: Uint8Array, p: number, layout: number, start: number): number {
  switch (layout) {
    case NONE:
      return p;
    case LEB:
      return lebEnd(code, p);
    case TWO_LEBS:
      return lebEnd(code, lebEnd(code, p));
    case MEMARG: {
      const flags = code[p] as number;
      const at = lebEnd(code, p);
      return lebEnd(code, flags & 0x40 ? lebEnd(code, at) : at);
    }
    case FOUR_BYTES:
      return p + 4;
    case EIGHT_BYTES:
      return p + 8;
    case BR_TABLE: {
      let at = p;
      for (let count = readLeb(code, p) + 1, i = 0; i <= count && at <= code.length; i++)
        at = lebEnd(code, at);
      return at;
    }
    case SELECT_TYPES:
      return lebEnd(code, p) + readLeb(code, p);
    case ONE_BYTE:
      return p + 1;
    case SIXTEEN_BYTES:
      return p + 16;
    case MEMARG_LANE:
      return immediatesEnd(code, p, MEMARG, start) + 1;
    default:
      return unknown(code, start);
  }
}

/**
 * The offset just past the instruction that starts at `p` in `code`.
 * Throws `WasmDecodeError` on an unknown opcode. On bytes cut short it
 * returns an offset past `code.length` (see {@link walkEnd}).
 */
export function instructionEnd(code: Uint8Array, p: number): number {
  const byte = code[p] as number;
  const layout = SINGLE[byte] as number;
  // The two layouts of most instructions (`local.get`, `i32.const`, `end`, arithmetic) first, before
  // the switch: a jump through its table costs more than these two tests.
  if (layout === LEB) {
    let at = p + 1;
    while ((code[at++] as number) & 0x80);
    return at;
  }
  if (layout === NONE) return p + 1;
  if (layout !== PREFIX) return immediatesEnd(code, p + 1, layout, p);
  const table = byte === PREFIX_MISC ? MISC : byte === PREFIX_SIMD ? SIMD : ATOMIC;
  const sub = readLeb(code, p + 1);
  return immediatesEnd(code, lebEnd(code, p + 1), sub < SUB_OPCODES ? (table[sub] as number) : UNKNOWN, p);
}

/**
 * Where a walk with {@link instructionEnd} ended: throws `WasmDecodeError`
 * if the last instruction ran past `end` (the body was cut short).
 */
export function walkEnd(p: number, end: number): void {
  if (p > end) throw new WasmDecodeError('instruction runs past the end of the body', end);
}

/**
 * The sub-opcode of the prefixed instruction at `p` (its {@link Opcode.code});
 * with the prefix byte, it makes the instruction's key.
 */
export function subOpcode(code: Uint8Array, p: number): number {
  return readLeb(code, p + 1);
}

/** What one transform's scan does at each instruction of a body: see {@link walkBody}. */
export interface InstructionVisitor {
  /**
   * The instructions it must be shown, by first byte (1: show it, from
   * {@link opcodeSet}); every instruction when absent. A visitor that needs
   * a few kinds of instruction spares the walk a call at all the others.
   */
  readonly opcodes?: Uint8Array | undefined;
  /** The instruction at `[start, end)` of `code`. */
  visit(code: Uint8Array, start: number, end: number): void;
}

/** A table for {@link InstructionVisitor.opcodes}: 1 at each of `firstBytes`. */
export function opcodeSet(firstBytes: readonly number[]): Uint8Array {
  const set = new Uint8Array(256);
  for (const byte of firstBytes) set[byte] = 1;
  return set;
}

const EVERY_OPCODE = new Uint8Array(256).fill(1);

/** The last union made, by its tables: a body's visitors are usually the previous body's kinds. */
let lastTables: readonly Uint8Array[] = [];
let lastUnion = new Uint8Array(256);

/** The union of `tables` (1 where any has 1). */
function unionOf(tables: readonly Uint8Array[]): Uint8Array {
  if (tables.length === lastTables.length && tables.every((t, i) => t === lastTables[i])) return lastUnion;
  const union = new Uint8Array(256);
  for (const table of tables) for (let b = 0; b < 256; b++) if (table[b] === 1) union[b] = 1;
  lastTables = tables;
  lastUnion = union;
  return union;
}

/**
 * Visitors, shown the instructions each asked for: a walk reads
 * {@link Visitors.wanted} once per instruction, and calls {@link Visitors.show}
 * only for those any visitor wants.
 */
export class Visitors {
  /** 1 at the first bytes any visitor must be shown. */
  readonly wanted: Uint8Array;
  private readonly tables: Uint8Array[];

  private readonly visitors: readonly InstructionVisitor[];

  constructor(visitors: readonly InstructionVisitor[]) {
    // A copy: the caller may use its list again, for other visitors.
    this.visitors = visitors.slice();
    this.tables = visitors.map((v) => v.opcodes ?? EVERY_OPCODE);
    this.wanted = unionOf(this.tables);
  }

  /** Whether these show instructions to exactly `visitors`, in that order (a walk of the next body may reuse them). */
  are(visitors: readonly InstructionVisitor[]): boolean {
    const own = this.visitors;
    if (own.length !== visitors.length) return false;
    for (let v = 0; v < own.length; v++) if (own[v] !== visitors[v]) return false;
    return true;
  }

  /** Shows the instruction at `[start, end)` to the visitors that asked for it. */
  show(code: Uint8Array, start: number, end: number): void {
    const byte = code[start] as number;
    for (let v = 0; v < this.visitors.length; v++)
      if ((this.tables[v] as Uint8Array)[byte] === 1)
        (this.visitors[v] as InstructionVisitor).visit(code, start, end);
  }
}

/**
 * Walks `code` (a body's instruction bytes) once, showing each instruction to
 * the visitors that asked for it (see {@link InstructionVisitor.opcodes}), in
 * order: transforms that each need a scan share one.
 * Throws `WasmDecodeError` on an unknown opcode or a body cut short.
 */
export function walkBody(code: Uint8Array, visitors: readonly InstructionVisitor[]): void {
  const shown = new Visitors(visitors);
  const { wanted } = shown;
  let p = 0;
  while (p < code.length) {
    const start = p;
    p = instructionEnd(code, p);
    if (wanted[code[start] as number] === 1) shown.show(code, start, p);
  }
  walkEnd(p, code.length);
}
