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

function readImmediate(reader: ByteReader, kind: ImmediateKind): Immediate {
  switch (kind) {
    case 'none':
      return undefined;
    case 'blocktype':
      return reader.s33();
    case 'label':
    case 'function':
    case 'local':
    case 'global':
    case 'table':
    case 'tag':
    case 'data':
    case 'elem':
    case 'memory':
      return reader.u32();
    case 'lane':
    case 'heaptype':
    case 'fence':
      return reader.u8();
    case 'br_table': {
      const targets = reader.vector((r) => r.u32());
      return { targets, defaultTarget: reader.u32() };
    }
    case 'call_indirect': {
      const type = reader.u32();
      return { type, table: reader.u32() };
    }
    case 'memarg':
      return readMemArg(reader);
    case 'memarg_lane': {
      const memarg = readMemArg(reader);
      return { memarg, lane: reader.u8() };
    }
    case 'i32':
      return reader.s32();
    case 'i64':
      return reader.s64();
    case 'f32':
      return reader.f32Bits();
    case 'f64':
      return reader.f64Bits();
    case 'v128':
    case 'shuffle':
      return reader.take(16).slice();
    case 'select_types':
      return reader.vector((r) => r.u8() as ValType);
    case 'memory.init':
    case 'memory.copy':
    case 'table.init':
    case 'table.copy': {
      const first = reader.u32();
      return [first, reader.u32()];
    }
  }
}

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
  const immediate = readImmediate(reader, op.immediate);
  return immediate === undefined ? { op } : { op, immediate };
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

function writeImmediate(writer: ByteWriter, op: Opcode, immediate: Immediate): void {
  switch (op.immediate) {
    case 'none':
      return;
    case 'blocktype':
      writer.s32(asIndex(op, immediate));
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
      writer.u32(asIndex(op, immediate));
      return;
    case 'lane':
    case 'heaptype':
    case 'fence':
      writer.u8(asIndex(op, immediate));
      return;
    case 'br_table': {
      const table = asObject<BrTableImmediate>(op, immediate, 'targets');
      writer.vector(table.targets, (w, target) => w.u32(target)).u32(table.defaultTarget);
      return;
    }
    case 'call_indirect': {
      const call = asObject<CallIndirectImmediate>(op, immediate, 'type');
      writer.u32(call.type).u32(call.table);
      return;
    }
    case 'memarg':
      writeMemArg(writer, asObject<MemArg>(op, immediate, 'align'));
      return;
    case 'memarg_lane': {
      const access = asObject<MemArgLane>(op, immediate, 'memarg');
      writeMemArg(writer, access.memarg);
      writer.u8(access.lane);
      return;
    }
    case 'i32':
      writer.s32(asIndex(op, immediate) | 0);
      return;
    case 'i64':
      writer.s64(typeof immediate === 'bigint' ? BigInt.asIntN(64, immediate) : invalid(op, immediate));
      return;
    case 'f32':
      writer.f32Bits(asIndex(op, immediate));
      return;
    case 'f64':
      writer.f64Bits(typeof immediate === 'bigint' ? immediate : invalid(op, immediate));
      return;
    case 'v128':
    case 'shuffle':
      writer.bytes(asBytes16(op, immediate));
      return;
    case 'select_types': {
      const types = Array.isArray(immediate) ? (immediate as readonly number[]) : invalid(op, immediate);
      writer.vector(types, (w, type) => w.u8(type));
      return;
    }
    case 'memory.init':
    case 'memory.copy':
    case 'table.init':
    case 'table.copy': {
      const [first, second] = asPair(op, immediate);
      writer.u32(first).u32(second);
      return;
    }
  }
}

/** Appends one instruction to `writer`. Throws `WasmEncodeError` if the immediate does not fit the opcode. */
export function writeInstruction(writer: ByteWriter, instr: Instruction): void {
  const { op } = instr;
  if (op.prefix === undefined) {
    writer.u8(op.code);
  } else {
    writer.u8(op.prefix).u32(op.code);
  }
  writeImmediate(writer, op, instr.immediate);
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
  const instructions: Instruction[] = [];
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
