/**
 * Values as wast2json writes them, and how results are compared with them:
 * integers exactly, floats by their bits (`nan:canonical` and
 * `nan:arithmetic` as the specification defines them), v128 lane by lane,
 * references by identity.
 */

/** A value in a spec command: `value` is the raw bits in decimal (lanes for v128), or a NaN class. */
export interface SpecValue {
  readonly type: string;
  readonly value?: string | readonly string[];
  readonly lane_type?: string;
}

/** Bytes each value type (and each v128 lane type) takes in memory. */
const BYTES: Readonly<Record<string, number>> = { i8: 1, i16: 2, i32: 4, f32: 4, i64: 8, f64: 8, v128: 16 };

/** Whether values of `type` cross through memory (numbers and vectors) rather than as references. */
export function isNumeric(type: string): boolean {
  return type in BYTES;
}

/** Host references `ref.extern N`, one object per N, so results can be compared by identity. */
export class ExternRefs {
  private readonly refs = new Map<string, object>();

  get(id: string): object {
    let ref = this.refs.get(id);
    if (ref === undefined) {
      ref = Object.freeze({ externref: id });
      this.refs.set(id, ref);
    }
    return ref;
  }
}

function writeScalar(view: DataView, offset: number, type: string, bits: string): void {
  const size = BYTES[type];
  if (size === 1) view.setUint8(offset, Number(BigInt.asUintN(8, BigInt(bits))));
  else if (size === 2) view.setUint16(offset, Number(BigInt.asUintN(16, BigInt(bits))), true);
  else if (size === 4) view.setUint32(offset, Number(BigInt.asUintN(32, BigInt(bits))), true);
  else view.setBigUint64(offset, BigInt.asUintN(64, BigInt(bits)), true);
}

function readScalar(view: DataView, offset: number, type: string): bigint {
  const size = BYTES[type];
  if (size === 1) return BigInt(view.getUint8(offset));
  if (size === 2) return BigInt(view.getUint16(offset, true));
  if (size === 4) return BigInt(view.getUint32(offset, true));
  return view.getBigUint64(offset, true);
}

/** Writes a numeric or v128 argument's bits at `offset`, little-endian as WebAssembly stores them. */
export function writeValue(view: DataView, offset: number, value: SpecValue): void {
  if (value.type !== 'v128') {
    writeScalar(view, offset, value.type, value.value as string);
    return;
  }
  const lane = value.lane_type as string;
  (value.value as readonly string[]).forEach((bits, i) => {
    writeScalar(view, offset + i * (BYTES[lane] as number), lane, bits);
  });
}

const F32_CANONICAL = 0x7fc00000n;
const F64_CANONICAL = 0x7ff8000000000000n;

/** Whether float bits are a NaN: every exponent bit set and a non-zero payload. */
function isNaNBits(type: 'f32' | 'f64', bits: bigint): boolean {
  const exponent = type === 'f32' ? 0x7f800000n : 0x7ff0000000000000n;
  const payload = type === 'f32' ? 0x7fffffn : 0xfffffffffffffn;
  return (bits & exponent) === exponent && (bits & payload) !== 0n;
}

/** Whether float bits of `type` match an expected value: exact bits, or a NaN class. */
function floatMatches(type: 'f32' | 'f64', expected: string, bits: bigint): boolean {
  const sign = type === 'f32' ? 0x80000000n : 0x8000000000000000n;
  const canonical = type === 'f32' ? F32_CANONICAL : F64_CANONICAL;
  if (expected === 'nan:canonical') return (bits & ~sign) === canonical;
  if (expected === 'nan:arithmetic') return (bits & canonical) === canonical;
  return bits === BigInt(expected);
}

function scalarMatches(type: string, expected: string, bits: bigint): boolean {
  if (type === 'f32' || type === 'f64') return floatMatches(type, expected, bits);
  return bits === BigInt.asUintN((BYTES[type] as number) * 8, BigInt(expected));
}

/** Each lane (or the scalar) of a numeric value at `offset`: `[expected, actual bits, lane type]`. */
function lanes(view: DataView, offset: number, expected: SpecValue): [string, bigint, string][] {
  if (expected.type !== 'v128')
    return [[expected.value as string, readScalar(view, offset, expected.type), expected.type]];
  const lane = expected.lane_type as string;
  const size = BYTES[lane] as number;
  return (expected.value as readonly string[]).map((value, i) => [
    value,
    readScalar(view, offset + i * size, lane),
    lane,
  ]);
}

/** Whether the numeric or v128 result stored at `offset` matches `expected`. */
export function numericMatches(view: DataView, offset: number, expected: SpecValue): boolean {
  return lanes(view, offset, expected).every(([value, bits, type]) => scalarMatches(type, value, bits));
}

/** Whether every lane that differs is a specific NaN the spec expects where the canonical NaN came instead. */
export function onlyCanonicalNaNsDiffer(view: DataView, offset: number, expected: SpecValue): boolean {
  let differs = false;
  for (const [value, bits, type] of lanes(view, offset, expected)) {
    if (scalarMatches(type, value, bits)) continue;
    differs = true;
    if (type !== 'f32' && type !== 'f64') return false;
    if (value.startsWith('nan:') || !isNaNBits(type, BigInt(value))) return false;
    if (!floatMatches(type, 'nan:canonical', bits)) return false;
  }
  return differs;
}

/** Whether a reference result matches: `null`, a host reference `ref.extern N`, or any non-null reference. */
export function referenceMatches(expected: SpecValue, actual: unknown, externs: ExternRefs): boolean {
  const value = expected.value as string | undefined;
  if (value === 'null') return actual === null;
  if (value === undefined) return actual !== null && actual !== undefined;
  return expected.type === 'externref' ? actual === externs.get(value) : false;
}

/** The JavaScript value of a reference argument. */
export function referenceArgument(value: SpecValue, externs: ExternRefs): unknown {
  const bits = value.value as string | undefined;
  if (bits === 'null' || bits === undefined) return null;
  return externs.get(bits);
}

/** A short text of a value for failure messages. */
export function describeValue(value: SpecValue): string {
  const shown = Array.isArray(value.value) ? `[${value.value.join(' ')}]` : String(value.value ?? '');
  return `${value.type}${value.lane_type === undefined ? '' : `:${value.lane_type}`} ${shown}`;
}
