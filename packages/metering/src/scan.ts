/**
 * A fast scan of a function body for the instrumenter: block boundaries with
 * their static costs, and the few instructions that must be rewritten. It
 * runs on bytes that already passed validation, so single-byte opcodes are
 * classified by lookup tables and LEB128 immediates are skipped, not decoded;
 * prefixed opcodes go through the core codec's table.
 */
import {
  ByteReader,
  OPCODES,
  type ImmediateKind,
  opcodeByKey,
  opcodeKey,
  skipImmediate,
} from '@ri-sandbox/core';
import type { CostModel } from './cost-model';

/** Instructions after which a new straight-line block starts: branch targets and branches. */
export const SPLIT_AFTER: ReadonlySet<string> = new Set([
  'loop',
  'if',
  'else',
  'end',
  'try',
  'catch',
  'catch_all',
  'delegate',
  'br',
  'br_if',
  'br_table',
  'return',
  'unreachable',
  'throw',
  'rethrow',
  'return_call',
  'return_call_indirect',
]);

/** Bulk operations whose size operand (on top of the stack) is charged per unit. */
const BULK_MEMORY: ReadonlySet<string> = new Set(['memory.fill', 'memory.copy', 'memory.init']);
const BULK_TABLE: ReadonlySet<string> = new Set(['table.fill', 'table.copy', 'table.init', 'table.grow']);

/** Instructions the rewriter must change. */
export const CALL = 1; // a function index immediate: call, return_call, ref.func
export const GROW = 2; // memory.grow
export const BULK_MEMORY_OP = 3;
export const BULK_TABLE_OP = 4;
/** After it, the counter may have changed behind the function's back: call_indirect, catch, catch_all. */
export const RELOAD = 5;

// Immediate layouts of single-byte opcodes.
const NONE = 0;
const LEB = 1;
const TWO_LEBS = 2;
const MEMARG = 3;
const FOUR_BYTES = 4;
const EIGHT_BYTES = 5;
const BR_TABLE = 6;
const SELECT_TYPES = 7;
const PREFIX = 8;
const UNKNOWN = 255;

const LAYOUT_OF: Partial<Record<ImmediateKind, number>> = {
  none: NONE,
  blocktype: LEB,
  label: LEB,
  function: LEB,
  local: LEB,
  global: LEB,
  table: LEB,
  tag: LEB,
  memory: LEB,
  i32: LEB,
  i64: LEB,
  heaptype: LEB,
  call_indirect: TWO_LEBS,
  memarg: MEMARG,
  f32: FOUR_BYTES,
  f64: EIGHT_BYTES,
  br_table: BR_TABLE,
  select_types: SELECT_TYPES,
};

const LAYOUT = new Uint8Array(256).fill(UNKNOWN);
const SPLITS = new Uint8Array(256);
const SPECIAL = new Uint8Array(256);
/**
 * Calls that need a check before them, so that the host is never called on a
 * negative balance: indirect ones (1), which may reach an import, and direct
 * ones (2), which do when their target is imported. A defined function checks
 * at its own entry.
 */
const CALLS = new Uint8Array(256);
const INDIRECT = 1;
const DIRECT = 2;
const LOOP = 0x03;
for (const op of OPCODES) {
  if (op.prefix !== undefined) continue;
  LAYOUT[op.code] = LAYOUT_OF[op.immediate] ?? UNKNOWN;
  if (SPLIT_AFTER.has(op.name)) SPLITS[op.code] = 1;
  if (op.immediate === 'function') SPECIAL[op.code] = CALL;
  if (op.name === 'memory.grow') SPECIAL[op.code] = GROW;
  if (op.name === 'call_indirect' || op.name === 'catch' || op.name === 'catch_all')
    SPECIAL[op.code] = RELOAD;
  if (op.name === 'call_indirect' || op.name === 'return_call_indirect') CALLS[op.code] = INDIRECT;
  if (op.name === 'call' || op.name === 'return_call') CALLS[op.code] = DIRECT;
}
LAYOUT[0xfc] = PREFIX;
LAYOUT[0xfd] = PREFIX;
LAYOUT[0xfe] = PREFIX;

/** Costs by opcode, as lookups the scan can afford per instruction. */
export interface CostLookup {
  readonly entry: number;
  readonly single: Float64Array;
  readonly prefixed: ReadonlyMap<number, number>;
  readonly fallback: number;
}

/** Builds the lookup for `model`. */
export function costLookup(model: CostModel): CostLookup {
  const single = new Float64Array(256).fill(model.defaultCost);
  const prefixed = new Map<number, number>();
  for (const op of OPCODES) {
    const cost = Object.hasOwn(model.instructions, op.name)
      ? (model.instructions[op.name] as number)
      : model.defaultCost;
    if (op.prefix === undefined) single[op.code] = cost;
    else prefixed.set(op.key, cost);
  }
  return { entry: model.functionEntry, single, prefixed, fallback: model.defaultCost };
}

/** The result of scanning one body. */
export interface BodyScan {
  /** Offset where each straight-line block starts, in order (the first is 0). */
  readonly blockStarts: number[];
  /** Static cost of each block. */
  readonly blockCosts: number[];
  /**
   * Whether each block must check the counter after charging: the function's
   * entry, loop headers, and blocks that call an import or call indirectly.
   * Other blocks only subtract.
   */
  readonly blockChecks: boolean[];
  /** Instructions to rewrite, as consecutive (start offset, end offset, kind) triples, in order. */
  readonly specials: number[];
  /** Whether a bulk operation needs a scratch local. */
  readonly needsScratch: boolean;
}

function skipLeb(code: Uint8Array, p: number): number {
  let at = p;
  while ((code[at++] as number) & 0x80);
  return at;
}

/** The function index of the LEB128 immediate at `p`. */
function readIndex(code: Uint8Array, p: number): number {
  let value = 0;
  let shift = 0;
  let at = p;
  for (;;) {
    const byte = code[at++] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value;
    shift += 7;
  }
}

/**
 * Scans `code` (instruction bytes of a validated function body) of a module
 * with `importedFunctions` function imports. Throws `WasmDecodeError` on an
 * unknown opcode.
 */
export function scanBody(code: Uint8Array, costs: CostLookup, importedFunctions: number): BodyScan {
  const blockStarts = [0];
  const blockCosts: number[] = [];
  const blockChecks: boolean[] = [];
  let check = true;
  const specials: number[] = [];
  let needsScratch = false;
  let current = costs.entry;
  let p = 0;
  const end = code.length;
  while (p < end) {
    const start = p;
    const byte = code[p++] as number;
    const layout = LAYOUT[byte] as number;
    let split = SPLITS[byte] === 1;
    let special = SPECIAL[byte] as number;
    if (layout === PREFIX) {
      const reader = new ByteReader(code, p);
      const op = opcodeByKey(opcodeKey(byte, reader.u32()));
      if (op === undefined) return reader.fail(`unknown opcode 0x${byte.toString(16)}`, start);
      skipImmediate(reader, op.immediate);
      p = reader.offset;
      current += costs.prefixed.get(op.key) ?? costs.fallback;
      split = false;
      special = BULK_MEMORY.has(op.name) ? BULK_MEMORY_OP : BULK_TABLE.has(op.name) ? BULK_TABLE_OP : 0;
      if (special !== 0) needsScratch = true;
    } else {
      current += costs.single[byte] as number;
      const calls = CALLS[byte] as number;
      if (calls === INDIRECT || (calls === DIRECT && readIndex(code, p) < importedFunctions)) check = true;
      switch (layout) {
        case NONE:
          break;
        case LEB:
          p = skipLeb(code, p);
          break;
        case TWO_LEBS:
          p = skipLeb(code, skipLeb(code, p));
          break;
        case MEMARG: {
          const flags = code[p] as number;
          p = skipLeb(code, p);
          if (flags & 0x40) p = skipLeb(code, p);
          p = skipLeb(code, p);
          break;
        }
        case FOUR_BYTES:
          p += 4;
          break;
        case EIGHT_BYTES:
          p += 8;
          break;
        case BR_TABLE: {
          const reader = new ByteReader(code, p);
          const count = reader.u32();
          p = reader.offset;
          for (let i = 0; i <= count; i++) p = skipLeb(code, p);
          break;
        }
        case SELECT_TYPES: {
          const reader = new ByteReader(code, p);
          const count = reader.u32();
          p = reader.offset + count;
          break;
        }
        default:
          return new ByteReader(code, start).fail(`unknown opcode 0x${byte.toString(16)}`);
      }
    }
    if (special !== 0) specials.push(start, p, special);
    if (split && p < end) {
      blockStarts.push(p);
      blockCosts.push(current);
      blockChecks.push(check);
      current = 0;
      check = byte === LOOP;
    }
  }
  if (p > end) new ByteReader(code, end).fail('instruction runs past the end of the body');
  blockCosts.push(current);
  blockChecks.push(check);
  return { blockStarts, blockCosts, blockChecks, specials, needsScratch };
}
