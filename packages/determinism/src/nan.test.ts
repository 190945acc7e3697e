import { describe, expect, it } from 'vitest';
import { decodeModule, encodeModule } from '@ri-sandbox/core';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { exportedFunctions, fixtureImports, observe } from '../../metering/test/differential';
import { canonicalizeNaNs } from './nan';

const canonical = (bytes: Uint8Array) => encodeModule(canonicalizeNaNs(decodeModule(bytes)));

const NANS = wat(`(module
  (func (export "f32") (param f32) (result i32) (i32.reinterpret_f32 (f32.div (local.get 0) (local.get 0))))
  (func (export "f64") (param f64) (result i64) (i64.reinterpret_f64 (f64.sqrt (local.get 0))))
  (func (export "simd") (param f32) (result i32)
    (i32x4.extract_lane 0 (f32x4.mul (f32x4.splat (local.get 0)) (v128.const f32x4 0 0 inf 0))))
  (func (export "simd64") (param f64) (result i64)
    (i64x2.extract_lane 1 (f64x2.add (f64x2.splat (local.get 0)) (v128.const f64x2 0 -inf))))
  (func (export "promote") (param i32) (result i64)
    (i64.reinterpret_f64 (f64.promote_f32 (f32.reinterpret_i32 (local.get 0)))))
  (func (export "plain") (param f32) (result i32) (i32.reinterpret_f32 (f32.add (local.get 0) (f32.const 1)))))`);

async function exportsOf(bytes: Uint8Array<ArrayBuffer>) {
  const { instance } = await WebAssembly.instantiate(bytes);
  return instance.exports as Record<string, (...args: unknown[]) => number | bigint>;
}

/** `observed` (see `observe`) with every NaN shown as `num:NaN`, whatever its sign and payload. */
function withNaNsAlike(observed: string): string {
  return observed.replace(/num:([0-9a-f]+)/g, (shown, hex: string) => {
    const bits = BigInt(`0x${hex}`);
    const nan = ((bits >> 52n) & 0x7ffn) === 0x7ffn && (bits & ((1n << 52n) - 1n)) !== 0n;
    return nan ? 'num:NaN' : shown;
  });
}

describe('canonicalizeNaNs', () => {
  it('turns every NaN an instruction produces into the canonical NaN, scalar and SIMD', async () => {
    const raw = await exportsOf(NANS);
    const fixed = await exportsOf(canonical(NANS));
    // x86 produces the negative "default NaN" for 0/0; the specification allows any NaN here.
    const rawBits = (raw['f32']!(0) as number) >>> 0;
    expect(rawBits & 0x7fc00000).toBe(0x7fc00000);
    expect((fixed['f32']!(0) as number) >>> 0).toBe(0x7fc00000);
    expect(BigInt.asUintN(64, fixed['f64']!(-1) as bigint)).toBe(0x7ff8000000000000n);
    expect((fixed['simd']!(Infinity) as number) >>> 0).toBe(0x7fc00000);
    expect(BigInt.asUintN(64, fixed['simd64']!(Infinity) as bigint)).toBe(0x7ff8000000000000n);
    // A NaN with a payload, promoted: the payload would survive without canonicalization.
    expect(BigInt.asUintN(64, raw['promote']!(0x7fa00001) as bigint)).not.toBe(0x7ff8000000000000n);
    expect(BigInt.asUintN(64, fixed['promote']!(0x7fa00001) as bigint)).toBe(0x7ff8000000000000n);
    // Numbers that are not NaN are untouched.
    expect(fixed['plain']!(2.5)).toBe(raw['plain']!(2.5));
    expect(fixed['f32']!(3)).toBe(raw['f32']!(3));
  });

  it('canonicalizes once where a result goes straight into another producer (sum + a[i] * b)', async () => {
    // The product waits under a load's address and value, then the sum takes it.
    const chain = wat(`(module (memory 1)
      (func (export "acc") (param i64 i64 i32) (result i64)
        (i64.reinterpret_f64 (f64.add
          (f64.mul (f64.reinterpret_i64 (local.get 0)) (f64.reinterpret_i64 (local.get 1)))
          (f64.load (local.get 2)))))
      (func (export "stored") (param i64) (result i64)
        (f64.store (i32.const 8) (f64.mul (f64.reinterpret_i64 (local.get 0)) (f64.const 2)))
        (i64.load (i32.const 8))))`);
    const rewritten = canonicalizeNaNs(decodeModule(chain));
    // Canonicalization sites: `f64.ge; select`.
    const count = (index: number) =>
      [...(rewritten.code[index]?.code ?? [])].filter((byte, i, all) => byte === 0x1b && all[i - 1] === 0x66)
        .length;
    expect([count(0), count(1)]).toEqual([1, 1]);
    const raw = await exportsOf(chain);
    const fixed = await exportsOf(encodeModule(rewritten));
    // A NaN with a payload: x86 carries it through the product and the sum; the rewritten code does not.
    const payload = 0x7ff4000000000001n;
    expect(BigInt.asUintN(64, raw['acc']!(payload, 0x3ff0000000000000n, 64) as bigint)).not.toBe(
      0x7ff8000000000000n,
    );
    expect(BigInt.asUintN(64, fixed['acc']!(payload, 0x3ff0000000000000n, 64) as bigint)).toBe(
      0x7ff8000000000000n,
    );
    // A product stored to memory is canonicalized before the store.
    expect(BigInt.asUintN(64, fixed['stored']!(payload) as bigint)).toBe(0x7ff8000000000000n);
    expect(fixed['acc']!(0x4000000000000000n, 0x4008000000000000n, 64)).toBe(
      raw['acc']!(0x4000000000000000n, 0x4008000000000000n, 64),
    );
  });

  it('leaves a result alone where a comparison or a truncation takes it, and behaves the same', async () => {
    const blind = wat(`(module (memory 1)
      (func (export "less") (param f64 f64 f64) (result i32)
        (f64.lt (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
      (func (export "nan") (param f32) (result i32)
        (f32.ne (f32.sqrt (local.get 0)) (f32.mul (local.get 0) (f32.const 0))))
      (func (export "trunc") (param f64 i32) (result i64)
        (i64.trunc_f64_s (f64.add (local.get 0) (f64.load (local.get 1)))))
      (func (export "lanes") (param f32) (result i32)
        (i32x4.extract_lane 0 (f32x4.gt
          (f32x4.mul (f32x4.splat (local.get 0)) (v128.const f32x4 0 0 0 0))
          (v128.const f32x4 -1 -1 -1 -1))))
      (func (export "kept") (param f64) (result i64)
        (i64.reinterpret_f64 (f64.neg (f64.sqrt (local.get 0))))))`);
    const rewritten = canonicalizeNaNs(decodeModule(blind));
    // Canonicalization sites: `f64.ge; select`, `f32.ge; select`, `f32x4.ne; v128.bitselect`.
    const sites = (index: number) => {
      const code = [...(rewritten.code[index]?.code ?? [])];
      return code.filter(
        (byte, i) =>
          (byte === 0x1b && [0x60, 0x66].includes(code[i - 1] ?? 0)) || (byte === 82 && code[i - 1] === 0xfd),
      ).length;
    };
    // Only the negated root needs it (negation keeps a NaN's payload); a product computed above the
    // root waits for the comparison with it.
    expect([0, 1, 2, 3, 4].map(sites)).toEqual([0, 0, 0, 0, 1]);
    const raw = await exportsOf(blind);
    const fixed = await exportsOf(encodeModule(rewritten));
    for (const [a, b, c] of [
      [2, 3, 7],
      [2, 3, 5],
      [Infinity, 0, 1],
      [NaN, 1, 1],
      [-0, 5, 0],
    ] as const)
      expect(fixed['less']!(a, b, c)).toBe(raw['less']!(a, b, c));
    for (const x of [4, -1, NaN, 0, Infinity]) expect(fixed['nan']!(x)).toBe(raw['nan']!(x));
    expect(fixed['trunc']!(41.5, 0)).toBe(41n);
    expect(() => fixed['trunc']!(NaN, 0)).toThrow(WebAssembly.RuntimeError);
    expect(() => fixed['trunc']!(Infinity, 0)).toThrow(WebAssembly.RuntimeError);
    for (const x of [1, Infinity, NaN]) expect(fixed['lanes']!(x)).toBe(raw['lanes']!(x));
    expect(BigInt.asUintN(64, fixed['kept']!(-1) as bigint)).toBe(0xfff8000000000000n);
  });

  it('canonicalizes a SIMD result that the next instruction reads in another lane shape', () => {
    // As f64x2, two f32x4 lanes are one number: the NaN's sign and payload bits become its bits.
    const shapes = wat(`(module
      (func (export "same") (param v128 v128) (result v128)
        (f32x4.add (f32x4.mul (local.get 0) (local.get 1)) (local.get 1)))
      (func (export "wider") (param v128 v128) (result v128)
        (f64x2.add (f32x4.mul (local.get 0) (local.get 1)) (local.get 1)))
      (func (export "compared") (param v128 v128) (result v128)
        (f32x4.lt (f64x2.mul (local.get 0) (local.get 1)) (local.get 1)))
      (func (export "truncated") (param v128) (result v128)
        (i32x4.trunc_sat_f32x4_s (f64x2.sqrt (local.get 0))))
      (func (export "promoted") (param v128) (result v128)
        (f64x2.promote_low_f32x4 (f32x4.sqrt (local.get 0)))))`);
    const rewritten = canonicalizeNaNs(decodeModule(shapes));
    // Canonicalization sites: `v128.bitselect` (0xfd 82).
    const sites = (index: number) =>
      [...(rewritten.code[index]?.code ?? [])].filter((byte, i, all) => byte === 82 && all[i - 1] === 0xfd)
        .length;
    // Each function's final result is canonicalized at the end; the inner one only where its lane changes.
    expect([0, 1, 2, 3, 4].map(sites)).toEqual([1, 2, 1, 1, 1]);
  });

  // (The nan fixture exists to produce the NaNs this transform changes: the first test covers it.)
  it.each(FIXTURE_NAMES.filter((name) => !['infinite-loop', 'memory-hog', 'nan'].includes(name)))(
    'keeps every other result of the %s fixture',
    async (name) => {
      const bytes = fixture(name);
      const signatures = exportedFunctions(bytes);
      const before = await observe(bytes, signatures, { extraImports: fixtureImports });
      const after = await observe(canonical(bytes), signatures, { extraImports: fixtureImports });
      expect(after).toEqual(before);
    },
  );

  // Generated modules: outcomes and host calls must agree, up to the bits of NaNs, which differ by
  // design (x86 makes 0/0 a negative NaN, which a host sees in the bits of the number it is given);
  // memory is not compared, since stored NaNs differ too.
  it.each(fuzzModules().map((m) => [m.name, m.bytes] as const))(
    'keeps the behaviour of %s',
    async (_name, bytes) => {
      const signatures = exportedFunctions(bytes);
      const strip = (list: Awaited<ReturnType<typeof observe>>) =>
        list.map(({ call, outcome, log }) => ({
          call,
          outcome: withNaNsAlike(outcome),
          log: log.map(withNaNsAlike),
        }));
      const before = strip(await observe(bytes, signatures));
      const after = strip(await observe(canonical(bytes), signatures));
      expect(after.length).toBe(before.length);
      before.forEach((observation, i) => {
        if (observation.outcome === 'trap stack_overflow')
          expect(after[i]?.outcome).toBe(observation.outcome);
        else expect(after[i]).toEqual(observation);
      });
    },
  );

  it('leaves functions without float arithmetic byte for byte', () => {
    const module = decodeModule(fixture('fibonacci'));
    expect(canonicalizeNaNs(module).code).toEqual(module.code);
  });
});
