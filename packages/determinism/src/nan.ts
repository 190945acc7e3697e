/**
 * NaN canonicalization, as wasmtime does it: the WebAssembly specification
 * lets an engine choose the bits of a NaN that an arithmetic instruction
 * produces (x86 gives 0xFFC00000 for 0/0, ARM 0x7FC00000), so after every
 * instruction that may produce one, any NaN result is replaced with the
 * canonical NaN (0x7FC00000 for f32, 0x7FF8000000000000 for f64), scalar and
 * SIMD lanes alike. Bit operations (abs, neg, copysign), loads and
 * reinterpretations are exact already and left alone. A result that another
 * producer takes as an operand, with only loads, constants, address
 * arithmetic and float arithmetic computed in between, is not canonicalized:
 * the specification makes every producer return a NaN for a NaN operand, and
 * that one is canonicalized (`sum + a[i] * b[j]` pays once, not twice). Nor is one that
 * an instruction blind to NaN bits takes in the same way: a comparison
 * (`a * b < c`), or a truncation to integers.
 */
import {
  type ByteWriter,
  type InstructionVisitor,
  derivedModule,
  Insertions,
  type LocalGroup,
  type Opcode,
  PREFIX_ATOMIC,
  PREFIX_MISC,
  PREFIX_SIMD,
  ValType,
  type WasmModule,
  applyRiders,
  type BodyRider,
  type RiderInsertions,
  instructionEnd,
  localCount,
  opcodeByName,
  opcodeSet,
  subOpcode,
} from '@ri-sandbox/core';

type Lane = 'f32' | 'f64' | 'f32x4' | 'f64x2';

const ARITHMETIC = ['add', 'sub', 'mul', 'div', 'sqrt', 'min', 'max', 'ceil', 'floor', 'trunc', 'nearest'];

/** Instructions whose NaN results are canonicalized, with the shape of their result. */
export const NAN_PRODUCERS: ReadonlyMap<string, Lane> = new Map<string, Lane>([
  ...ARITHMETIC.flatMap((op): [string, Lane][] => [
    [`f32.${op}`, 'f32'],
    [`f64.${op}`, 'f64'],
    [`f32x4.${op}`, 'f32x4'],
    [`f64x2.${op}`, 'f64x2'],
  ]),
  ['f32.demote_f64', 'f32'],
  ['f64.promote_f32', 'f64'],
  ['f32x4.demote_f64x2_zero', 'f32x4'],
  ['f64x2.promote_low_f32x4', 'f64x2'],
]);

/** The producers that take one operand (the others take two). */
const UNARY_PRODUCERS: ReadonlySet<string> = new Set(
  [...NAN_PRODUCERS.keys()].filter((name) => /\.(sqrt|ceil|floor|trunc|nearest|demote|promote)/.test(name)),
);

/**
 * Instructions a producer's result may wait under on the stack (besides
 * producers, and instructions blind to NaN bits), with the values each pops
 * and pushes: they only compute what the next producer takes with it (an
 * address and a load, a constant, a local). A load may trap, which ends the
 * run: the result on the stack is never seen.
 */
const STACK_EFFECT: ReadonlyMap<string, readonly [pops: number, pushes: number]> = new Map<
  string,
  readonly [number, number]
>([
  ...['local.get', 'global.get', 'i32.const', 'i64.const', 'f32.const', 'f64.const', 'v128.const'].map(
    (name) => [name, [0, 1]] as const,
  ),
  ...['i32.load', 'i64.load', 'f32.load', 'f64.load', 'v128.load'].map((name) => [name, [1, 1]] as const),
  ...['i32.add', 'i32.sub', 'i32.mul', 'i32.shl', 'i32.and', 'i32.or', 'i64.add', 'i64.mul'].map(
    (name) => [name, [2, 1]] as const,
  ),
]);

/**
 * Instructions that take a float but cannot let its NaN bits out: comparisons (a NaN is unordered,
 * whatever its bits) and truncations to integers (which trap on any NaN, or give 0 for SIMD lanes).
 */
const BLIND_TO_NAN_BITS: readonly string[] = [
  ...['f32', 'f64', 'f32x4', 'f64x2'].flatMap((shape) =>
    ['eq', 'ne', 'lt', 'gt', 'le', 'ge'].map((op) => `${shape}.${op}`),
  ),
  ...['i32', 'i64'].flatMap((int) =>
    ['f32_s', 'f32_u', 'f64_s', 'f64_u'].map((from) => `${int}.trunc_${from}`),
  ),
  'i32x4.trunc_sat_f32x4_s',
  'i32x4.trunc_sat_f32x4_u',
  'i32x4.trunc_sat_f64x2_s_zero',
  'i32x4.trunc_sat_f64x2_u_zero',
];
/** Of those, the ones that take two operands (the others take one). */
const BLIND_BINARY = /\.(eq|ne|lt|gt|le|ge)$/;

const LANES: readonly Lane[] = ['f32', 'f64', 'f32x4', 'f64x2'];
/** Tables below are indexed by slot: a single-byte opcode's byte, or 0x100 + a SIMD sub-opcode. */
const SIMD_SLOTS = 0x100;
const SLOTS = SIMD_SLOTS + 0x200;
const slotOf = (op: Opcode) => (op.prefix === PREFIX_SIMD ? SIMD_SLOTS + op.code : op.code);
/**
 * Per producer: 1 + its lane in `LANES`. Per producer, and per instruction blind to NaN bits: how
 * many operands it takes, and 1 + the lane it reads them as (`TAKES_LANE`, 0 for any other).
 */
const LANE = new Uint8Array(SLOTS);
const TAKES = new Uint8Array(SLOTS);
const TAKES_LANE = new Uint8Array(SLOTS);
/**
 * The lane an instruction reads its operands as: named after its immediate for a conversion
 * (`f64.promote_f32`, `i32.trunc_f64_s`, `i32x4.trunc_sat_f64x2_s_zero`), before the dot otherwise.
 */
function operandLane(name: string): Lane {
  const [shape, operation] = name.split('.') as [string, string];
  return (/f32x4|f64x2|f32|f64/.exec(operation)?.[0] ?? shape) as Lane;
}
/** Per instruction of `STACK_EFFECT`: 1 + what it pops, 1 + what it pushes. */
const POPS = new Uint8Array(SLOTS);
const PUSHES = new Uint8Array(SLOTS);
for (const [name, lane] of NAN_PRODUCERS) {
  const slot = slotOf(opcodeByName(name) as Opcode);
  LANE[slot] = 1 + LANES.indexOf(lane);
  TAKES[slot] = UNARY_PRODUCERS.has(name) ? 1 : 2;
  TAKES_LANE[slot] = 1 + LANES.indexOf(operandLane(name));
}
for (const name of BLIND_TO_NAN_BITS) {
  const slot = slotOf(opcodeByName(name) as Opcode);
  TAKES[slot] = BLIND_BINARY.test(name) ? 2 : 1;
  TAKES_LANE[slot] = 1 + LANES.indexOf(operandLane(name));
}
for (const [name, [pops, pushes]] of STACK_EFFECT) {
  const slot = slotOf(opcodeByName(name) as Opcode);
  POPS[slot] = 1 + pops;
  PUSHES[slot] = 1 + pushes;
}

/** The slot of the instruction at `p` (0 for one that is neither single-byte nor SIMD: no table names it). */
function slotAt(code: Uint8Array, p: number): number {
  const byte = code[p] as number;
  if (byte !== PREFIX_SIMD) return byte === PREFIX_MISC || byte === PREFIX_ATOMIC ? 0 : byte;
  const sub = subOpcode(code, p);
  return sub < SLOTS - SIMD_SLOTS ? SIMD_SLOTS + sub : 0;
}

const LOCAL_TYPE: Record<Lane, ValType> = {
  f32: ValType.f32,
  f64: ValType.f64,
  f32x4: ValType.v128,
  f64x2: ValType.v128,
};

/**
 * Replaces the result on the stack with the canonical NaN if it is a NaN, through local `local`: for
 * scalars `select(t, canonical, t >= t)`, for SIMD `bitselect(canonical, t, t != t)` per lane.
 *
 * The scalar test is `t >= t` rather than `t != t` (the same truth, inverted) because engines test it
 * with one flag: on x86 `ucomisd` sets the carry flag for "less than" and for "unordered" alike, so
 * V8 emits one `jnc` where `t != t` takes two jumps (parity for unordered, zero for equal). Neither
 * form lets V8 use a conditional move (it has none for floats); one routed through integers
 * (`i64.reinterpret_f64`, an integer `select`, back) avoids the jump but was slower on matmul
 * (1.55x against 1.28x): two transfers between register files cost more than a predicted jump.
 */
function emitCanonicalize(w: ByteWriter, lane: Lane, local: number): void {
  w.u8(0x21).u32(local); // local.set t
  switch (lane) {
    case 'f32':
      w.u8(0x20).u32(local).u8(0x43).f32Bits(0x7fc00000); // t, f32.const nan
      w.u8(0x20).u32(local).u8(0x20).u32(local).u8(0x60).u8(0x1b); // f32.ge t t; select
      return;
    case 'f64':
      w.u8(0x20).u32(local).u8(0x44).f64Bits(0x7ff8000000000000n); // t, f64.const nan
      w.u8(0x20).u32(local).u8(0x20).u32(local).u8(0x66).u8(0x1b); // f64.ge t t; select
      return;
    case 'f32x4':
      w.u8(0xfd).u32(12);
      for (let i = 0; i < 4; i++) w.f32Bits(0x7fc00000); // v128.const nan x4
      w.u8(0x20).u32(local).u8(0x20).u32(local).u8(0x20).u32(local); // t, t, t
      w.u8(0xfd).u32(66).u8(0xfd).u32(82); // f32x4.ne; v128.bitselect
      return;
    case 'f64x2':
      w.u8(0xfd).u32(12);
      for (let i = 0; i < 2; i++) w.f64Bits(0x7ff8000000000000n); // v128.const nan x2
      w.u8(0x20).u32(local).u8(0x20).u32(local).u8(0x20).u32(local); // t, t, t
      w.u8(0xfd).u32(72).u8(0xfd).u32(82); // f64x2.ne; v128.bitselect
      return;
  }
}

/** What {@link NaNScan} is shown: the producers' first bytes (single-byte ones, and the SIMD prefix). */
const PRODUCER_OPCODES = opcodeSet([
  PREFIX_SIMD,
  ...[...NAN_PRODUCERS.keys()].flatMap((name) => {
    const op = opcodeByName(name) as Opcode;
    return op.prefix === undefined ? [op.code] : [];
  }),
]);

/**
 * NaN canonicalization's scan of one body: where results must be
 * canonicalized. It is shown only producers, and follows each result itself
 * to the instruction that takes it. {@link finish} then says what to insert.
 */
export class NaNScan implements InstructionVisitor {
  readonly opcodes = PRODUCER_OPCODES;
  /** Where results are canonicalized, and their lanes: the first {@link count} (kept from body to body). */
  private readonly sites: number[] = [];
  private readonly lanes: Lane[] = [];
  private count = 0;
  /** What {@link finish} fills: one list per scan, emptied for each body. */
  private readonly insertions = new Insertions();

  /** Forgets the body seen last, for the next one: what {@link finish} gave for it is written over. */
  reset(): void {
    this.count = 0;
  }

  visit(code: Uint8Array, start: number, end: number): void {
    const lane = LANE[slotAt(code, start)] as number;
    if (lane === 0) return; // a SIMD instruction that produces no float
    // How many values lie above the result on the stack, as the instructions after it go by.
    let above = 0;
    for (let p = end; p < code.length; p = instructionEnd(code, p)) {
      const slot = slotAt(code, p);
      const pops = POPS[slot] as number;
      const takes = TAKES[slot] as number;
      const consumes = takes !== 0 ? takes : pops - 1;
      if (consumes > above) {
        // This instruction takes the result: left alone if it produces NaNs itself (every producer
        // turns a NaN operand into a NaN result, canonicalized there) or cannot let NaN bits out (a
        // comparison, a truncation), reading it in the lane it was made in (a 128-bit value made as
        // f32x4 and read as f64x2 is other numbers, its NaN bits among their bits); canonicalized
        // otherwise.
        if (TAKES_LANE[slot] !== lane) this.site(end, lane);
        return;
      }
      // Computed above the result, from what lies above it: a producer, or an instruction blind to NaN
      // bits, leaves one value for what it takes; the others as STACK_EFFECT says.
      if (takes !== 0) above += 1 - takes;
      else if (pops === 0) break;
      else above += (PUSHES[slot] as number) - pops;
    }
    // Anything else (control flow, a call, a store, the end of the body): canonicalize.
    this.site(end, lane);
  }

  private site(end: number, lane: number): void {
    this.sites[this.count] = end;
    this.lanes[this.count] = LANES[lane - 1] as Lane;
    this.count++;
  }

  /**
   * What to insert once the body is scanned, with the scratch locals to
   * append (one per value type needed, the first numbered `first`).
   */
  finish(first: number): { readonly insertions: Insertions; readonly locals: readonly LocalGroup[] } {
    // Most bodies produce no float that needs it: they share one empty list.
    const { sites, lanes, count } = this;
    if (count === 0) return NOTHING_TO_CANONICALIZE;
    // One local per value type, in the order the types first turn up.
    const types: ValType[] = [];
    for (let i = 0; i < count; i++) {
      const type = LOCAL_TYPE[lanes[i] as Lane];
      if (!types.includes(type)) types.push(type);
    }
    const insertions = this.insertions.clear();
    for (let i = 0; i < count; i++) {
      const lane = lanes[i] as Lane;
      emitCanonicalize(insertions.at(sites[i] as number), lane, first + types.indexOf(LOCAL_TYPE[lane]));
    }
    return { insertions, locals: types.map((type) => ({ count: 1, type })) };
  }
}

/**
 * Rewrites `module` so that every NaN an arithmetic instruction produces is
 * the canonical NaN. Function bodies must be structurally valid.
 * @throws WasmDecodeError on a malformed body.
 */
export function canonicalizeNaNs(module: WasmModule): WasmModule {
  return derivedModule(module, {
    code: module.code.map((body, i) => applyRiders(body, localCount(module, i), [nanRider()])),
  });
}

/** What a body without a site to canonicalize gets (read only). */
const NOTHING_TO_CANONICALIZE = { insertions: new Insertions(), locals: [] } as const;

/** NaN canonicalization of one body, as a rider (see `BodyRider` in `@ri-sandbox/core`). */
export function nanRider(): BodyRider {
  return new NaNRider();
}

/**
 * See {@link nanRider}: a class, so that every body's rider has one shape and one `finish`. One rider
 * serves body after body of a pass that writes each before it scans the next: {@link reset} between.
 */
export class NaNRider implements BodyRider {
  readonly scan = new NaNScan();

  /** The rider, emptied for the next body. */
  reset(): this {
    this.scan.reset();
    return this;
  }

  finish(first: number): RiderInsertions {
    const { insertions, locals } = this.scan.finish(first);
    return { trailing: insertions, locals };
  }
}
