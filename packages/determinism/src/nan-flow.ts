/**
 * Where a float result goes, for NaN canonicalization: which instructions
 * produce NaNs an engine may choose the bits of, which take a float without
 * letting its NaN bits out, and which only compute above a value on the stack
 * until an instruction takes it. Tables indexed by opcode, read once per
 * producer and per read of a float local.
 */
import {
  type Opcode,
  PREFIX_ATOMIC,
  PREFIX_MISC,
  PREFIX_SIMD,
  instructionEnd,
  opcodeByName,
  subOpcode,
} from '@ri-sandbox/core';

/** The shape of a float value: a scalar, or a 128-bit vector's lanes. */
export type Lane = 'f32' | 'f64' | 'f32x4' | 'f64x2';

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
 * address and a load, a constant, a local), or keep in a local a value computed
 * above it (`(a * b) + (dx = x - y) * dx` keeps `dx` while the product waits).
 * A load may trap, which ends the run: the result on the stack is never seen.
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
  ['local.set', [1, 0]],
  ['local.tee', [1, 1]],
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

/** The lanes, in the order the tables below number them (from 1). */
export const LANES: readonly Lane[] = ['f32', 'f64', 'f32x4', 'f64x2'];
/** Tables below are indexed by slot: a single-byte opcode's byte, or 0x100 + a SIMD sub-opcode. */
const SIMD_SLOTS = 0x100;
const SLOTS = SIMD_SLOTS + 0x200;
const slotOf = (op: Opcode) => (op.prefix === PREFIX_SIMD ? SIMD_SLOTS + op.code : op.code);
/**
 * Per producer: 1 + its lane in `LANES`. Per producer, and per instruction blind to NaN bits: how
 * many operands it takes, and 1 + the lane it reads them as (`TAKES_LANE`, 0 for any other).
 */
export const LANE = new Uint8Array(SLOTS);
const TAKES = new Uint8Array(SLOTS);
export const TAKES_LANE = new Uint8Array(SLOTS);
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
export function slotAt(code: Uint8Array, p: number): number {
  const byte = code[p] as number;
  if (byte !== PREFIX_SIMD) return byte === PREFIX_MISC || byte === PREFIX_ATOMIC ? 0 : byte;
  const sub = subOpcode(code, p);
  return sub < SLOTS - SIMD_SLOTS ? SIMD_SLOTS + sub : 0;
}

/**
 * Where the instruction starts that takes, as an operand, the value pushed by the instruction that ends
 * at `end`, or -1 if it cannot be told. The instructions between may only compute above the value, from
 * what lies above it: producers, instructions blind to NaN bits, and those of `STACK_EFFECT`. An
 * instruction none of the tables knows is taken to take the value if nothing lies above it (a store, a
 * `br`, a call; or one that takes nothing, such as `memory.size`, which only makes the answer
 * cautious: the value is then checked as if it got out); above anything else, it cannot be told what it
 * takes.
 */
export function takerOf(code: Uint8Array, end: number): number {
  let above = 0;
  for (let p = end; p < code.length; p = instructionEnd(code, p)) {
    const slot = slotAt(code, p);
    const pops = POPS[slot] as number;
    const takes = TAKES[slot] as number;
    if (takes === 0 && pops === 0) return above === 0 ? p : -1;
    if ((takes !== 0 ? takes : pops - 1) > above) return p;
    // Computed above the value: a producer, or an instruction blind to NaN bits, leaves one value for
    // what it takes; the others as STACK_EFFECT says.
    above += takes !== 0 ? 1 - takes : (PUSHES[slot] as number) - pops;
  }
  return -1;
}

/**
 * Whether the value the instruction ending at `end` pushes, read as `lane` (1 + its index in
 * {@link LANES}), is taken where its NaN bits cannot get out: by a producer (which turns a NaN operand
 * into a NaN result, canonicalized in turn) or by a comparison or a truncation, reading it in the lane
 * it was made in (a 128-bit value made as f32x4 and read as f64x2 is other numbers, its NaN bits among
 * their bits).
 */
export function takenBlind(code: Uint8Array, end: number, lane: number): boolean {
  const taker = takerOf(code, end);
  return taker >= 0 && TAKES_LANE[slotAt(code, taker)] === lane;
}
