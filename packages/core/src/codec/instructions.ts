/**
 * Instructions and their immediates: one reader and one writer, both driven by
 * the immediate kind in the opcode table.
 */
import { ByteReader, ByteWriter, WasmEncodeError } from './bytes';
import { type ImmediateKind, type Opcode, opcodeByKey, opcodeByName, opcodeKey } from './opcodes';
import type { ValType } from './types';

/** `br_table`'s immediates. */
export interface BrTableImmediate {
  readonly targets: readonly number[];
  readonly defaultTarget: number;
}

/** `call_indirect`'s and `return_call_indirect`'s immediates. */
export interface CallIndirectImmediate {
  readonly type: number;
  readonly table: number;
}

/** A memory access's alignment exponent, static offset and memory index. */
export interface MemArg {
  readonly align: number;
  readonly offset: number;
  readonly memory: number;
}

/** A SIMD lane load or store's immediates. */
export interface MemArgLane {
  readonly memarg: MemArg;
  readonly lane: number;
}

/**
 * An instruction's immediates; which shape depends on `op.immediate`:
 * - `none`: `undefined`
 * - `blocktype`: a {@link BlockType} number; `label`, `function`, `local`, `global`, `table`, `tag`,
 *   `data`, `elem`, `memory`, `lane`, `heaptype`, `fence`: an index (or byte) as a number
 * - `i32`: a signed 32-bit number; `i64`: a bigint
 * - `f32`: the raw u32 bit pattern as a number; `f64`: the raw u64 bit pattern as a bigint
 *   (raw bits keep NaN payloads exact)
 * - `v128`, `shuffle`: 16 bytes
 * - `select_types`: the result types
 * - `br_table`, `call_indirect`, `memarg`, `memarg_lane`: the interfaces of those names
 * - `memory.init` (data, memory), `memory.copy` (dest, src), `table.init` (elem, table),
 *   `table.copy` (dest, src): a pair of indices
 */
export type Immediate =
  | undefined
  | number
  | bigint
  | Uint8Array
  | readonly ValType[]
  | BrTableImmediate
  | CallIndirectImmediate
  | MemArg
  | MemArgLane
  | readonly [number, number];

/** One decoded instruction. */
export interface Instruction {
  readonly op: Opcode;
  readonly immediate?: Immediate;
}

/** Builds an instruction by its text-format name (`select_t` for the typed `select`). */
export function instruction(name: string, immediate?: Immediate): Instruction {
  const op = opcodeByName(name);
  if (op === undefined) throw new WasmEncodeError(`unknown instruction "${name}"`);
  return immediate === undefined ? { op } : { op, immediate };
}

function readMemArg(reader: ByteReader): MemArg {
  const flags = reader.u32();
  // Bit 6 of the alignment field announces an explicit memory index (multi-memory).
  const memory = flags & 0x40 ? reader.u32() : 0;
  return { align: flags & ~0x40, memory, offset: reader.u32() };
}

function writeMemArg(writer: ByteWriter, memarg: MemArg): void {
  if (memarg.memory === 0) {
    writer.u32(memarg.align);
  } else {
    writer.u32(memarg.align | 0x40).u32(memarg.memory);
  }
  writer.u32(memarg.offset);
}

function invalid(op: Opcode, immediate: Immediate): never {
  const shown =
    typeof immediate === 'object'
      ? JSON.stringify(immediate, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))
      : String(immediate);
  throw new WasmEncodeError(`invalid immediate for ${op.name}: ${shown}`);
}

function asIndex(op: Opcode, immediate: Immediate): number {
  return typeof immediate === 'number' ? immediate : invalid(op, immediate);
}

function asObject<T extends object>(op: Opcode, immediate: Immediate, field: keyof T): T {
  return typeof immediate === 'object' && field in immediate ? (immediate as T) : invalid(op, immediate);
}

function asPair(op: Opcode, immediate: Immediate): readonly [number, number] {
  return Array.isArray(immediate) && immediate.length === 2
    ? (immediate as [number, number])
    : invalid(op, immediate);
}

function asBytes16(op: Opcode, immediate: Immediate): Uint8Array {
  return immediate instanceof Uint8Array && immediate.length === 16 ? immediate : invalid(op, immediate);
}

/** Reads and writes the immediates of one {@link ImmediateKind}. */
interface ImmediateCodec {
  read(reader: ByteReader): Immediate;
  write(writer: ByteWriter, op: Opcode, immediate: Immediate): void;
}

const noImmediate: ImmediateCodec = { read: () => undefined, write: () => undefined };
const u32Index: ImmediateCodec = {
  read: (r) => r.u32(),
  write: (w, op, imm) => void w.u32(asIndex(op, imm)),
};
const oneByte: ImmediateCodec = {
  read: (r) => r.u8(),
  write: (w, op, imm) => void w.u8(asIndex(op, imm)),
};
const indexPair: ImmediateCodec = {
  read: (r) => {
    const first = r.u32();
    return [first, r.u32()];
  },
  write: (w, op, imm) => {
    const [first, second] = asPair(op, imm);
    w.u32(first).u32(second);
  },
};
const sixteenBytes: ImmediateCodec = {
  read: (r) => r.take(16).slice(),
  write: (w, op, imm) => void w.bytes(asBytes16(op, imm)),
};
const memArg: ImmediateCodec = {
  read: readMemArg,
  write: (w, op, imm) => {
    writeMemArg(w, asObject<MemArg>(op, imm, 'align'));
  },
};

/** One reader and one writer per immediate kind, side by side so they cannot drift apart. */
const IMMEDIATE_CODECS: Readonly<Record<ImmediateKind, ImmediateCodec>> = {
  none: noImmediate,
  blocktype: { read: (r) => r.s33(), write: (w, op, imm) => void w.s32(asIndex(op, imm)) },
  label: u32Index,
  function: u32Index,
  local: u32Index,
  global: u32Index,
  table: u32Index,
  tag: u32Index,
  data: u32Index,
  elem: u32Index,
  memory: u32Index,
  lane: oneByte,
  heaptype: oneByte,
  fence: oneByte,
  br_table: {
    read: (r) => {
      const targets = r.vector((v) => v.u32());
      return { targets, defaultTarget: r.u32() };
    },
    write: (w, op, imm) => {
      const table = asObject<BrTableImmediate>(op, imm, 'targets');
      w.vector(table.targets, (v, target) => v.u32(target)).u32(table.defaultTarget);
    },
  },
  call_indirect: {
    read: (r) => {
      const type = r.u32();
      return { type, table: r.u32() };
    },
    write: (w, op, imm) => {
      const call = asObject<CallIndirectImmediate>(op, imm, 'type');
      w.u32(call.type).u32(call.table);
    },
  },
  memarg: memArg,
  memarg_lane: {
    read: (r) => {
      const memarg = readMemArg(r);
      return { memarg, lane: r.u8() };
    },
    write: (w, op, imm) => {
      const access = asObject<MemArgLane>(op, imm, 'memarg');
      writeMemArg(w, access.memarg);
      w.u8(access.lane);
    },
  },
  i32: { read: (r) => r.s32(), write: (w, op, imm) => void w.s32(asIndex(op, imm) | 0) },
  i64: {
    read: (r) => r.s64(),
    write: (w, op, imm) => void w.s64(typeof imm === 'bigint' ? BigInt.asIntN(64, imm) : invalid(op, imm)),
  },
  f32: { read: (r) => r.f32Bits(), write: (w, op, imm) => void w.f32Bits(asIndex(op, imm)) },
  f64: {
    read: (r) => r.f64Bits(),
    write: (w, op, imm) => void w.f64Bits(typeof imm === 'bigint' ? imm : invalid(op, imm)),
  },
  v128: sixteenBytes,
  shuffle: sixteenBytes,
  select_types: {
    read: (r) => r.vector((v) => v.u8() as ValType),
    write: (w, op, imm) => {
      const types = Array.isArray(imm) ? (imm as readonly number[]) : invalid(op, imm);
      w.vector(types, (v, type) => v.u8(type));
    },
  },
  'memory.init': indexPair,
  'memory.copy': indexPair,
  'table.init': indexPair,
  'table.copy': indexPair,
};

/** Reads one instruction at the reader's position. Throws `WasmDecodeError` on malformed input. */
export function readInstruction(reader: ByteReader): Instruction {
  const start = reader.offset;
  const byte = reader.u8();
  const prefixed = byte === 0xfc || byte === 0xfd || byte === 0xfe;
  const key = prefixed ? opcodeKey(byte, reader.u32()) : byte;
  const op = opcodeByKey(key);
  if (op === undefined) {
    const code = prefixed ? `0x${byte.toString(16)} ${key & 0xffff}` : `0x${byte.toString(16)}`;
    return reader.fail(`unknown opcode ${code}`, start);
  }
  const immediate = IMMEDIATE_CODECS[op.immediate].read(reader);
  return immediate === undefined ? { op } : { op, immediate };
}

/** Appends one instruction to `writer`. Throws `WasmEncodeError` if the immediate does not fit the opcode. */
export function writeInstruction(writer: ByteWriter, instr: Instruction): void {
  const { op } = instr;
  if (op.prefix === undefined) {
    writer.u8(op.code);
  } else {
    writer.u8(op.prefix).u32(op.code);
  }
  IMMEDIATE_CODECS[op.immediate].write(writer, op, instr.immediate);
}

/**
 * Decodes a function body's instruction bytes (as in `FunctionBody.code`, final `end` included).
 * Throws `WasmDecodeError` on malformed input.
 */
export function decodeInstructions(code: Uint8Array): Instruction[] {
  const reader = new ByteReader(code);
  const instructions: Instruction[] = [];
  while (!reader.done) instructions.push(readInstruction(reader));
  return instructions;
}

/** Encodes instructions back to bytes; the inverse of {@link decodeInstructions}. */
export function encodeInstructions(instructions: readonly Instruction[]): Uint8Array<ArrayBuffer> {
  const writer = new ByteWriter(instructions.length * 2 + 16);
  for (const instr of instructions) writeInstruction(writer, instr);
  return writer.finish();
}

/**
 * Reads a constant expression (a global initializer or a segment offset) up to
 * and including its `end`; returns the instructions without the `end`.
 */
export function readConstantExpression(reader: ByteReader): Instruction[] {
  // Nearly every expression is one instruction (`i32.const 1024`): an array of one, where an empty
  // array grown by a push would hold room for 16 (ruby.wasm has 17,866 data segments, each with one).
  const first = readInstruction(reader);
  if (first.op.name === 'end') return [];
  const second = readInstruction(reader);
  if (second.op.name === 'end') return [first];
  const instructions: Instruction[] = [first, second];
  for (;;) {
    const instr = readInstruction(reader);
    if (instr.op.name === 'end') return instructions;
    instructions.push(instr);
  }
}

/** Writes a constant expression followed by its `end`. */
export function writeConstantExpression(writer: ByteWriter, instructions: readonly Instruction[]): void {
  for (const instr of instructions) writeInstruction(writer, instr);
  writer.u8(0x0b);
}

/**
 * Advances `reader` past one immediate of `kind` without building it: the
 * fast path for transforms that copy most instructions through unchanged.
 */
export function skipImmediate(reader: ByteReader, kind: ImmediateKind): void {
  // The common kinds skip their numbers without building them (no bigint for an i64.const).
  switch (kind) {
    case 'none':
      return;
    case 'label':
    case 'function':
    case 'local':
    case 'global':
    case 'table':
    case 'tag':
    case 'data':
    case 'elem':
    case 'memory':
      reader.skipU32();
      return;
    case 'i32':
      reader.skipS32();
      return;
    case 'i64':
      reader.skipS64();
      return;
    case 'memarg':
      if (reader.u32() & 0x40) reader.skipU32();
      reader.skipU32();
      return;
    case 'call_indirect':
      reader.skipU32();
      reader.skipU32();
      return;
    case 'br_table': {
      const count = reader.u32();
      for (let i = 0; i <= count; i++) reader.skipU32();
      return;
    }
    case 'memarg_lane':
      if (reader.u32() & 0x40) reader.skipU32();
      reader.skipU32();
      reader.skip(1);
      return;
    case 'v128':
    case 'shuffle':
      reader.offset += 16;
      if (reader.offset > reader.end) reader.fail('unexpected end of input');
      return;
    case 'f32':
      reader.skip(4);
      return;
    case 'f64':
      reader.skip(8);
      return;
    case 'select_types':
      reader.skip(reader.u32());
      return;
    default:
      IMMEDIATE_CODECS[kind].read(reader);
  }
}

/**
 * Reads one opcode and skips its immediates; returns the opcode. The
 * instruction spans from the reader's offset before the call to its offset after.
 * Throws `WasmDecodeError` on malformed input.
 */
export function skipInstruction(reader: ByteReader): Opcode {
  const start = reader.offset;
  const byte = reader.u8();
  const prefixed = byte === 0xfc || byte === 0xfd || byte === 0xfe;
  const op = opcodeByKey(prefixed ? opcodeKey(byte, reader.u32()) : byte);
  if (op === undefined) return reader.fail(`unknown opcode 0x${byte.toString(16)}`, start);
  skipImmediate(reader, op.immediate);
  return op;
}
