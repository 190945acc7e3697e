import { describe, expect, it } from 'vitest';
import { decodeModule, encodeModule } from '@ri-sandbox/core';
import { wat } from '../../core/test/wat';
import { canonicalizeNaNs } from './nan';

/**
 * `body` run as many times as local 1 says, counting it down to 0 (a loop around `body`, in the text of
 * the functions below).
 */
const timesLocal1 = (body: string) =>
  `(block (loop (br_if 1 (i32.eqz (local.get 1))) ${body} (local.set 1 (i32.sub (local.get 1) (i32.const 1))) (br 0)))`;

/**
 * Functions whose float results go through a local. Each takes a NaN's bits (or any number's) as an
 * i64, so that no conversion through JavaScript touches them, and returns what it made as bits.
 */
const LOCALS = wat(`(module (memory 1)
  ;; Written from a product, read only by a sum: the local's bits never get out; the sum's do.
  (func (export "inner") (param i64) (result i64) (local f64)
    (local.set 1 (f64.mul (f64.reinterpret_i64 (local.get 0)) (f64.const 2)))
    (i64.reinterpret_f64 (f64.add (local.get 1) (local.get 1))))
  ;; Summed in a loop, stored after it: canonicalized where it is read, once, not in the loop.
  (func (export "after") (param i64 i32) (result i64) (local f64 f64)
    (local.set 3 (f64.reinterpret_i64 (local.get 0)))
    (local.set 2 (f64.const 0))
    ${timesLocal1('(local.set 2 (f64.add (local.get 2) (local.get 3)))')}
    (f64.store (i32.const 0) (local.get 2))
    (i64.load (i32.const 0)))
  ;; Computed once, stored in a loop: canonicalized where it is written, outside the loop.
  (func (export "before") (param i64 i32) (result i64) (local f64)
    (local.set 2 (f64.add (f64.reinterpret_i64 (local.get 0)) (f64.const 1)))
    ${timesLocal1('(f64.store (i32.const 8) (local.get 2))')}
    (i64.load (i32.const 8)))
  ;; Also written with a loaded value, whose bits must be kept: the sum is canonicalized where written.
  (func (export "loaded") (param i64 i32) (result i64) (local f64)
    (i64.store (i32.const 16) (local.get 0))
    (local.set 2 (f64.load (i32.const 16)))
    ${timesLocal1('(local.set 2 (f64.add (local.get 2) (f64.const 1)))')}
    (f64.store (i32.const 24) (local.get 2))
    (i64.load (i32.const 24)))
  ;; Also written with a constant NaN, whose bits must be kept too.
  (func (export "constant") (param i64 i32) (result i64) (local f64 f64)
    (local.set 3 (f64.reinterpret_i64 (local.get 0)))
    (local.set 2 (f64.const nan:0x4000000000001))
    ${timesLocal1('(local.set 2 (f64.add (local.get 2) (local.get 3)))')}
    (i64.reinterpret_f64 (local.get 2)))
  ;; A parameter: the caller's NaN keeps its bits.
  (func $param (param f64 i32) (result i64)
    ${timesLocal1('(local.set 0 (f64.add (local.get 0) (f64.const 1)))')}
    (i64.reinterpret_f64 (local.get 0)))
  (func (export "param") (param i64 i32) (result i64)
    (call $param (f64.reinterpret_i64 (local.get 0)) (local.get 1)))
  ;; Kept by local.tee in a loop whose copy on the stack only a comparison reads; stored after the loop.
  (func (export "tee") (param i64 i32) (result i64) (local f64 f64)
    (local.set 3 (f64.reinterpret_i64 (local.get 0)))
    (local.set 2 (f64.const 0))
    (block (loop
      (br_if 1 (f64.gt (local.tee 2 (f64.add (local.get 2) (local.get 3)))
        (f64.const 1e300)))
      (br_if 1 (i32.eqz (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
      (br 0)))
    (f64.store (i32.const 32) (local.get 2))
    (i64.load (i32.const 32)))
  ;; Kept by local.tee whose copy on the stack is stored, and read by a comparison.
  (func (export "teeStored") (param i64) (result i64) (local f64)
    (f64.store (i32.const 40) (local.tee 1 (f64.mul (f64.reinterpret_i64 (local.get 0)) (f64.const 2))))
    (drop (f64.lt (local.get 1) (f64.const 0)))
    (i64.load (i32.const 40)))
  ;; Also written with a loaded value, but only arithmetic reads it: only the sum returned is canonicalized.
  (func (export "blindOnly") (param i64 i32) (result i64) (local f64)
    (i64.store (i32.const 48) (local.get 0))
    (local.set 2 (f64.load (i32.const 48)))
    (if (local.get 1) (then (local.set 2 (f64.mul (local.get 2) (f64.const 2)))))
    (i64.reinterpret_f64 (f64.add (local.get 2) (f64.const 0))))
  ;; The first product waits while a difference is kept in a local and squared: (a * 3) + (d = x - 1) * d.
  (func (export "waits") (param i64) (result i64) (local f64)
    (i64.reinterpret_f64 (f64.add
      (f64.mul (f64.reinterpret_i64 (local.get 0)) (f64.const 3))
      (f64.mul (local.tee 1 (f64.sub (f64.load (i32.const 56)) (f64.const 1))) (local.get 1)))))
  ;; A local's check between two stored results' checks: the sites are put in order.
  (func (export "mixed") (param i64) (result i64) (local f64)
    (f64.store (i32.const 64) (f64.add (f64.reinterpret_i64 (local.get 0)) (f64.const 1)))
    (local.set 1 (f64.mul (f64.reinterpret_i64 (local.get 0)) (f64.const 2)))
    (f64.store (i32.const 72) (local.get 1))
    (f64.store (i32.const 80) (f64.sub (f64.reinterpret_i64 (local.get 0)) (f64.const 1)))
    (i64.xor (i64.load (i32.const 64)) (i64.xor (i64.load (i32.const 72)) (i64.load (i32.const 80)))))
  ;; A product written to a local after another value was kept above it: not next to its write.
  (func (export "between") (param i64) (result i64) (local f64 i32)
    local.get 0
    f64.reinterpret_i64
    f64.const 2
    f64.mul
    i32.const 5
    local.set 2
    local.set 1
    i32.const 88
    local.get 1
    f64.store
    i32.const 88
    i64.load)
  ;; An f32 sum started from a finite constant (defined function 13, not in EXPORTS: it takes i32s).
  (func (export "sumF32") (param i32 i32) (result i32) (local f32 f32)
    (local.set 3 (f32.reinterpret_i32 (local.get 0)))
    (local.set 2 (f32.const 0.5))
    ${timesLocal1('(local.set 2 (f32.add (local.get 2) (local.get 3)))')}
    (f32.store (i32.const 96) (local.get 2))
    (i32.load (i32.const 96))))`);

const EXPORTS = [
  'inner',
  'after',
  'before',
  'loaded',
  'constant',
  'param',
  'tee',
  'teeStored',
  'blindOnly',
  'waits',
  'mixed',
  'between',
] as const;
/** The defined function each export is ($param, defined before its export, is 5). */
const BODY: Record<(typeof EXPORTS)[number], number> = {
  inner: 0,
  after: 1,
  before: 2,
  loaded: 3,
  constant: 4,
  param: 6,
  tee: 7,
  teeStored: 8,
  blindOnly: 9,
  waits: 10,
  mixed: 11,
  between: 12,
};

/** The first byte of the instruction after each canonicalization (`f64.ge` or `f32.ge`, `select`) in `code`. */
function followers(code: Uint8Array): number[] {
  const found: number[] = [];
  for (let i = 1; i + 1 < code.length; i++)
    if (code[i] === 0x1b && (code[i - 1] === 0x66 || code[i - 1] === 0x60)) found.push(code[i + 1] as number);
  return found;
}

async function exportsOf(bytes: Uint8Array<ArrayBuffer>) {
  const { instance } = await WebAssembly.instantiate(bytes);
  return instance.exports as Record<string, (...args: unknown[]) => bigint>;
}

const CANONICAL = 0x7ff8000000000000n;
/** A NaN with a payload: x86 carries it through arithmetic. */
const PAYLOAD = 0x7ff4000000000001n;
const bits = (value: bigint) => BigInt.asUintN(64, value);

describe('canonicalizeNaNs with results kept in locals', () => {
  const rewritten = canonicalizeNaNs(decodeModule(LOCALS));

  it('canonicalizes where it costs least: at the write, or at the reads that let the value out', () => {
    const at = (name: (typeof EXPORTS)[number]) =>
      followers(rewritten.code[BODY[name]]?.code ?? new Uint8Array());
    const LOCAL_SET = 0x21;
    const LOCAL_TEE = 0x22;
    const F64_STORE = 0x39;
    const I64_REINTERPRET = 0xbd;
    // Read only by arithmetic: the sum is canonicalized, the product's write is not.
    expect(at('inner')).toEqual([I64_REINTERPRET]);
    // Read once after the loop that writes it.
    expect(at('after')).toEqual([F64_STORE]);
    // Written once before the loop that reads it.
    expect(at('before')).toEqual([LOCAL_SET]);
    // Writes that must keep their bits: canonicalized at the arithmetic writes, like every other result.
    expect(at('loaded')).toEqual([LOCAL_SET]);
    expect(at('constant')).toEqual([LOCAL_SET]);
    expect(followers(rewritten.code[5]?.code ?? new Uint8Array())).toEqual([LOCAL_SET]); // $param
    expect(at('param')).toEqual([]);
    // The tee's copy goes to a comparison; the read after the loop is canonicalized.
    expect(at('tee')).toEqual([F64_STORE]);
    // The tee's copy is stored, the local read once by a comparison: one check either way, at the write.
    expect(at('teeStored')).toEqual([LOCAL_TEE]);
    // No read lets the local's value out: its loaded NaN is never seen, and nothing is checked but the sum.
    expect(at('blindOnly')).toEqual([I64_REINTERPRET]);
    // Neither the first product (which waits under the local.tee) nor the difference kept is checked.
    expect(at('waits')).toEqual([I64_REINTERPRET]);
    // One check either way for the local: at its write, between the stores' checks.
    expect(at('mixed')).toEqual([F64_STORE, LOCAL_SET, F64_STORE]);
    // An f32 local started from a finite constant: checked once, where it is stored after the loop.
    expect(followers(rewritten.code[13]?.code ?? new Uint8Array())).toEqual([0x38]); // f32.store
  });

  it('gives the canonical NaN for every NaN arithmetic made, and keeps every other NaN as it was', async () => {
    const raw = await exportsOf(LOCALS);
    const fixed = await exportsOf(encodeModule(rewritten));
    // Without canonicalization, x86 carries the payload through: the cases below would fail.
    expect(bits(raw['inner']!(PAYLOAD))).not.toBe(CANONICAL);
    expect(bits(fixed['inner']!(PAYLOAD))).toBe(CANONICAL);
    expect(bits(fixed['after']!(PAYLOAD, 3))).toBe(CANONICAL);
    expect(bits(fixed['before']!(PAYLOAD, 2))).toBe(CANONICAL);
    expect(bits(fixed['loaded']!(PAYLOAD, 1))).toBe(CANONICAL);
    expect(bits(fixed['constant']!(0n, 1))).toBe(CANONICAL);
    expect(bits(fixed['param']!(PAYLOAD, 1))).toBe(CANONICAL);
    expect(bits(fixed['tee']!(PAYLOAD, 2))).toBe(CANONICAL);
    expect(bits(fixed['teeStored']!(PAYLOAD))).toBe(CANONICAL);
    expect(bits(fixed['blindOnly']!(PAYLOAD, 0))).toBe(CANONICAL);
    expect(bits(fixed['blindOnly']!(PAYLOAD, 1))).toBe(CANONICAL);
    expect(bits(fixed['waits']!(PAYLOAD))).toBe(CANONICAL);
    // Three canonical NaNs, exclusive-ored: the canonical NaN.
    expect(bits(fixed['mixed']!(PAYLOAD))).toBe(CANONICAL);
    expect(bits(fixed['between']!(PAYLOAD))).toBe(CANONICAL);
    const sumF32 = fixed['sumF32'] as unknown as (bits: number, n: number) => number;
    expect(sumF32(0x7fa00001, 2) >>> 0).toBe(0x7fc00000);
    expect(sumF32(0x3f800000, 2) >>> 0).toBe(0x40200000); // 0.5 + 1 + 1
    // A NaN no arithmetic made (loaded, a constant, a caller's argument) keeps its payload.
    expect(bits(fixed['loaded']!(PAYLOAD, 0))).toBe(PAYLOAD);
    expect(bits(fixed['constant']!(0n, 0))).toBe(0x7ff4000000000001n);
    expect(bits(fixed['param']!(PAYLOAD, 0))).toBe(PAYLOAD);
    // Numbers are untouched (`constant` starts from its NaN).
    const one = 0x3ff0000000000000n;
    for (const name of EXPORTS.filter((name) => name !== 'constant'))
      expect(bits(fixed[name]!(one, 2))).toBe(bits(raw[name]!(one, 2)));
  });
});

describe('canonicalizeNaNs with vector results kept in locals', () => {
  // A vector sum in a loop, its lanes read after it: the check leaves the loop (the dot product of a
  // vectorizing compiler). Then a local written as f64x2 and as f32x4: every write keeps its check.
  const VECTORS = wat(`(module
    (func (export "sum") (param i64 i32) (result i64) (local v128 v128)
      (local.set 3 (f64x2.splat (f64.reinterpret_i64 (local.get 0))))
      ${timesLocal1('(local.set 2 (f64x2.add (local.get 2) (local.get 3)))')}
      (i64x2.extract_lane 0 (local.get 2)))
    (func (export "twoShapes") (param i64) (result i64) (local v128)
      (local.set 1 (f64x2.mul (f64x2.splat (f64.reinterpret_i64 (local.get 0))) (f64x2.splat (f64.const 2))))
      (local.set 1 (f32x4.add (local.get 1) (local.get 1)))
      (i64x2.extract_lane 0 (local.get 1))))`);
  const rewritten = canonicalizeNaNs(decodeModule(VECTORS));

  /** The lane shape each check (`ne; v128.bitselect`) tests, by its `ne`'s sub-opcode, with what follows. */
  function vectorChecks(code: Uint8Array): string[] {
    const found: string[] = [];
    for (let i = 3; i + 2 < code.length; i++)
      if (code[i - 1] === 0xfd && code[i] === 82 && code[i - 3] === 0xfd) {
        const shape = code[i - 2] === 66 ? 'f32x4' : code[i - 2] === 72 ? 'f64x2' : '?';
        found.push(
          `${shape} then ${(code[i + 1] as number).toString(16)} ${(code[i + 2] as number).toString(16)}`,
        );
      }
    return found;
  }

  it('checks a vector sum once after its loop, and each write of a local written in two lane shapes', () => {
    // i64x2.extract_lane is 0xfd 29; local.set is 0x21 followed by the local's index.
    expect(vectorChecks(rewritten.code[0]?.code ?? new Uint8Array())).toEqual(['f64x2 then fd 1d']);
    expect(vectorChecks(rewritten.code[1]?.code ?? new Uint8Array())).toEqual([
      'f64x2 then 21 1',
      'f32x4 then 21 1',
    ]);
  });

  it('gives the canonical NaN for the sum of NaNs with payloads', async () => {
    const raw = await exportsOf(VECTORS);
    const fixed = await exportsOf(encodeModule(rewritten));
    expect(bits(raw['sum']!(PAYLOAD, 3))).not.toBe(CANONICAL);
    expect(bits(fixed['sum']!(PAYLOAD, 3))).toBe(CANONICAL);
    expect(bits(fixed['sum']!(0x3ff0000000000000n, 3))).toBe(0x4008000000000000n); // 1 + 1 + 1
  });
});
