/**
 * A WebAssembly kernel for CRC-32C over large inputs: slicing-by-16, sixteen
 * bytes per step, about half again as fast as the JavaScript loop. It is
 * assembled here from instructions with the shared codec, so there is no
 * binary to keep in sync; its own memory holds the tables and a scratch
 * area the input is copied through, a cache-sized piece at a time.
 */
import { ByteWriter, ValType, WASM_PAGE_BYTES, encodeModule } from '@ri-sandbox/core';

/** Bytes of the 16 lookup tables at the start of the kernel's memory. */
const TABLE_BYTES = 16 * 256 * 4;
/** The scratch area: one piece of input at a time. */
export const KERNEL_SCRATCH_BYTES = 1 << 20;

const Op = {
  block: 0x02,
  loop: 0x03,
  void: 0x40,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  i32Load: 0x28,
  i32Load8U: 0x2d,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32And: 0x71,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
} as const;

// Locals: the parameters (previous CRC, pointer, length), then the end pointer and four words.
const CRC = 0;
const P = 1;
const N = 2;
const END = 3;
const WORDS = [4, 5, 6, 7] as const;

function body(): Uint8Array {
  const w = new ByteWriter(1024);
  const get = (local: number) => w.u8(Op.localGet).u32(local);
  const set = (local: number) => w.u8(Op.localSet).u32(local);
  const constant = (value: number) => w.u8(Op.i32Const).s32(value);
  const load = (offset: number, op: number = Op.i32Load) =>
    w
      .u8(op)
      .u32(op === Op.i32Load ? 2 : 0)
      .u32(offset);
  /** table[t][byte k of word]: `i32.load offset=t*1024 ((word >> 8k) & 255) << 2`. */
  const lookup = (table: number, word: number, k: number) => {
    get(word);
    if (k > 0) constant(8 * k).u8(Op.i32ShrU);
    if (k < 3) constant(255).u8(Op.i32And);
    constant(2).u8(Op.i32Shl);
    load(table * 1024);
  };
  // crc = ~crc; end = p + (n & -16)
  get(CRC);
  constant(-1).u8(Op.i32Xor);
  set(CRC);
  get(P);
  get(N);
  constant(-16).u8(Op.i32And).u8(Op.i32Add);
  set(END);
  w.u8(Op.block).u8(Op.void).u8(Op.loop).u8(Op.void);
  get(P);
  get(END);
  w.u8(Op.i32GeU).u8(Op.brIf).u32(1);
  WORDS.forEach((local, i) => {
    get(P);
    load(4 * i);
    if (i === 0) get(CRC).u8(Op.i32Xor);
    set(local);
  });
  WORDS.forEach((local, i) => {
    for (let k = 0; k < 4; k++) {
      lookup(15 - (4 * i + k), local, k);
      if (i + k > 0) w.u8(Op.i32Xor);
    }
  });
  set(CRC);
  get(P);
  constant(16).u8(Op.i32Add);
  set(P);
  w.u8(Op.br).u32(0).u8(Op.end).u8(Op.end);
  // The last n & 15 bytes, one at a time.
  get(END);
  get(N);
  constant(15).u8(Op.i32And).u8(Op.i32Add);
  set(END);
  w.u8(Op.block).u8(Op.void).u8(Op.loop).u8(Op.void);
  get(P);
  get(END);
  w.u8(Op.i32GeU).u8(Op.brIf).u32(1);
  get(CRC);
  get(P);
  load(0, Op.i32Load8U);
  w.u8(Op.i32Xor);
  constant(255).u8(Op.i32And);
  constant(2).u8(Op.i32Shl);
  load(0);
  get(CRC);
  constant(8).u8(Op.i32ShrU).u8(Op.i32Xor);
  set(CRC);
  get(P);
  constant(1).u8(Op.i32Add);
  set(P);
  w.u8(Op.br).u32(0).u8(Op.end).u8(Op.end);
  get(CRC);
  constant(-1).u8(Op.i32Xor);
  return w.u8(Op.end).finish();
}

/** A kernel instance: `crc(previous, length)` over the first `length` bytes of `scratch`. */
export interface CrcKernel {
  readonly scratch: Uint8Array;
  readonly crc: (previous: number, length: number) => number;
}

/** Assembles and instantiates the kernel, with `tables` (16 × 256 entries) in its memory. */
export function createCrcKernel(tables: Int32Array): CrcKernel {
  const pages = Math.ceil((TABLE_BYTES + KERNEL_SCRATCH_BYTES) / WASM_PAGE_BYTES);
  const bytes = encodeModule({
    types: [{ params: [ValType.i32, ValType.i32, ValType.i32], results: [ValType.i32] }],
    imports: [],
    functions: [0],
    tables: [],
    memories: [{ min: pages, max: pages }],
    tags: [],
    globals: [],
    exports: [
      { name: 'memory', kind: 'memory', index: 0 },
      { name: 'crc', kind: 'function', index: 0 },
    ],
    elements: [],
    code: [{ locals: [{ count: 5, type: ValType.i32 }], code: body() }],
    data: [],
    customSections: [],
  });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const memory = instance.exports['memory'] as WebAssembly.Memory;
  new Int32Array(memory.buffer, 0, tables.length).set(tables);
  const crc = instance.exports['crc'] as (previous: number, pointer: number, length: number) => number;
  return {
    scratch: new Uint8Array(memory.buffer, TABLE_BYTES, KERNEL_SCRATCH_BYTES),
    crc: (previous, length) => crc(previous, TABLE_BYTES, length) >>> 0,
  };
}
