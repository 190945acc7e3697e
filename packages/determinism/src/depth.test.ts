import { describe, expect, it } from 'vitest';
import { decodeInstructions, decodeModule, encodeModule } from '@ri-sandbox/core';
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

  it('enters exports through wrappers, so that calls within the module set nothing back at returns', async () => {
    const module = limitCallDepth(decodeModule(RECURSION), 1000);
    const depthGlobal = module.exports.find((e) => e.name === DEPTH_EXPORT)?.index;
    const setsDepth = (definedIndex: number) =>
      decodeInstructions(module.code[definedIndex]?.code ?? new Uint8Array()).filter(
        ({ op, immediate }) => op.name === 'global.set' && immediate === depthGlobal,
      ).length;
    // r (function 0) sets the counter once, before its call to itself, and not where it returns. Its
    // export, and caught's, are wrappers after the three functions, which set it back once.
    expect(setsDepth(0)).toBe(1);
    expect(module.exports.filter((e) => e.kind === 'function').map((e) => [e.name, e.index])).toEqual([
      ['r', 3],
      ['caught', 4],
    ]);
    expect([3, 4].map(setsDepth)).toEqual([1, 1]);
    // Called from the host, and from within (where the wrapper is not on the way): 0 after each.
    const { exports, depth } = await instantiate(encodeModule(module));
    expect(exports['r']!(999)).toBe(999);
    expect(depth?.value).toBe(0);
    expect(exports['caught']!(10)).toBe(1);
    expect(depth?.value).toBe(0);
  });

  it('keeps a wrapped export declared for ref.func, and enters the start function through a wrapper', async () => {
    const module = limitCallDepth(
      decodeModule(
        wat(`(module
          (global $ran (mut i32) (i32.const 0))
          (func $down (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0))
              (then (i32.const 0))
              (else (call $down (i32.sub (local.get 0) (i32.const 1))))))
          (func $five (export "five") (result i32) (i32.const 5))
          (func (export "ref") (result funcref) (ref.func $five))
          (func (export "ran") (result i32) (global.get $ran))
          (func $start (global.set $ran (call $down (i32.const 8))) (global.set $ran (i32.const 1)))
          (start $start))`),
      ),
      10,
    );
    expect(module.elements).toEqual([
      { mode: 'declarative', table: 0, elementType: 0x70, init: { kind: 'functions', indices: [1, 2, 3] } },
    ]);
    const { instance } = await WebAssembly.instantiate(encodeModule(module));
    const exports = instance.exports as Record<string, () => unknown>;
    const depth = instance.exports[DEPTH_EXPORT] as WebAssembly.Global;
    // The start function ran (down(8) at depths 1 to 9) through its wrapper: the counter is 0 again.
    expect(exports['ran']!()).toBe(1);
    expect(depth.value).toBe(0);
    expect((exports['ref']!() as () => number)()).toBe(5);
    expect(depth.value).toBe(0);
  });

  it("runs an export a host function calls back at the host function's depth, and leaves it there", async () => {
    const seen: number[] = [];
    const box: { exports?: Record<string, (n: number) => number>; depth?: WebAssembly.Global } = {};
    const { instance } = await WebAssembly.instantiate(
      encodeModule(
        limitCallDepth(
          decodeModule(
            wat(`(module
              (import "host" "back" (func $back (param i32) (result i32)))
              (func $down (export "down") (param i32) (result i32)
                (if (result i32) (i32.eqz (local.get 0))
                  (then (i32.const 0))
                  (else (call $down (i32.sub (local.get 0) (i32.const 1))))))
              (func (export "outer") (param i32) (result i32) (call $back (local.get 0))))`),
          ),
          10,
        ),
      ),
      {
        host: {
          back: (n: number) => {
            const { exports, depth } = box as Required<typeof box>;
            seen.push(depth.value as number);
            const result = exports['down']!(n);
            seen.push(depth.value as number);
            return result;
          },
        },
      },
    );
    box.exports = instance.exports as Record<string, (n: number) => number>;
    box.depth = instance.exports[DEPTH_EXPORT] as WebAssembly.Global;
    // outer runs at depth 0 and calls back at 1: down(9) runs at 1 to 10, the limit; down(10) traps.
    expect(box.exports['outer']!(9)).toBe(0);
    expect(seen).toEqual([1, 1]);
    expect(box.depth.value).toBe(0);
    expect(() => box.exports!['outer']!(10)).toThrow(WebAssembly.RuntimeError);
    expect(box.depth.value).toBe(11);
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
