import { describe, expect, it } from 'vitest';
import { decodeModule, encodeModule } from '@ri-sandbox/core';
import { fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { exportedFunctions, observe } from '../../metering/test/differential';
import { DEPTH_EXPORT, limitCallDepth } from './depth';

const limited = (bytes: Uint8Array, max?: number) => encodeModule(limitCallDepth(decodeModule(bytes), max));

const RECURSION = wat(`(module
  (tag $e)
  (func $r (export "r") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $r (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
  (func $deep (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $e)))
    (call $deep (i32.sub (local.get 0) (i32.const 1))))
  (func (export "caught") (param i32) (result i32)
    (try (result i32)
      (do (call $deep (local.get 0)) (i32.const 0))
      (catch $e (i32.const 1))
      (catch_all (i32.const 2)))))`);

async function instantiate(bytes: Uint8Array<ArrayBuffer>) {
  const { instance } = await WebAssembly.instantiate(bytes);
  const exports = instance.exports as Record<string, (...args: number[]) => number>;
  const depth = instance.exports[DEPTH_EXPORT] as WebAssembly.Global | undefined;
  return { exports, depth };
}

describe('limitCallDepth', () => {
  it('traps one call past the limit, where the engine would have gone on', async () => {
    const raw = await instantiate(RECURSION);
    expect(raw.exports['r']!(1001)).toBe(1001);
    const { exports, depth } = await instantiate(limited(RECURSION, 1000));
    expect(exports['r']!(1000)).toBe(1000);
    expect(depth?.value).toBe(0);
    expect(() => exports['r']!(1001)).toThrow(WebAssembly.RuntimeError);
    expect(depth?.value).toBe(1001);
  });

  it('stops infinite recursion at the same depth every time', async () => {
    const { exports, depth } = await instantiate(limited(fixture('traps'), 500));
    for (let i = 0; i < 3; i++) {
      if (depth) depth.value = 0;
      expect(() => exports['stack_overflow']!(0)).toThrow(/unreachable/);
      expect(depth?.value).toBe(501);
    }
  });

  it('restores the depth when a handler catches an exception thrown from deep below', async () => {
    const { exports, depth } = await instantiate(limited(RECURSION, 1000));
    for (let i = 0; i < 5; i++) expect(exports['caught']!(600)).toBe(1);
    expect(depth?.value).toBe(0);
  });

  it("lets tail calls run in constant depth, and counts every call of the module's own functions", async () => {
    const { exports, depth } = await instantiate(
      limited(
        wat(`(module
          (func $loop (export "loop") (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0))
              (then (i32.const 7))
              (else (return_call $loop (i32.sub (local.get 0) (i32.const 1))))))
          (func $down (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0))
              (then (i32.const 0))
              (else (call $down (i32.sub (local.get 0) (i32.const 1))))))
          (func (export "indirect") (param i32) (result i32)
            (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0)))
          (table 1 funcref)
          (elem (i32.const 0) $down))`),
        10,
      ),
    );
    expect(exports['loop']!(100_000)).toBe(7);
    expect(depth?.value).toBe(0);
    // indirect (depth 0) -> down(9) at 1 ... down(0) at 10: the limit exactly; one more traps.
    expect(exports['indirect']!(9)).toBe(0);
    expect(depth?.value).toBe(0);
    expect(() => exports['indirect']!(10)).toThrow(WebAssembly.RuntimeError);
    expect(depth?.value).toBe(11);
  });

  it.each(fuzzModules().map((m) => [m.name, m.bytes] as const))(
    'keeps the behaviour of %s',
    async (_name, bytes) => {
      const signatures = exportedFunctions(bytes);
      const before = await observe(bytes, signatures);
      const after = await observe(limited(bytes, 1_000_000), signatures);
      expect(after.length).toBe(before.length);
      before.forEach((observation, i) => {
        if (observation.outcome === 'trap stack_overflow')
          expect(after[i]?.outcome).toBe(observation.outcome);
        else expect(after[i]).toEqual(observation);
      });
    },
  );
});
