import { describe, expect, it } from 'vitest';
import type { SandboxConfigInput } from '@ri-sandbox/core';
import { wat } from '../../core/test/wat';
import { errorOf, testSandbox, valueOf } from '../test/helpers';

const BUILTINS = wat(`(module
  (import "env" "__get_time" (func $time (result f64)))
  (import "env" "__get_random" (func $random (result i32)))
  (func (export "time") (result f64) (call $time))
  (func (export "random") (result i32) (call $random)))`);

async function builtinsInstance(config?: SandboxConfigInput) {
  const sandbox = testSandbox();
  const created = sandbox.create(config);
  if (!created.ok) throw new Error(created.error.message);
  const loaded = await sandbox.load(created.value, BUILTINS);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return { sandbox, instance: created.value, info: loaded.value };
}

describe('deterministic builtins', () => {
  it('give the guest the configured timestamp, never the real clock', async () => {
    const { sandbox, instance, info } = await builtinsInstance({ eventTimestamp: 1_700_000_000_123 });
    expect(valueOf(sandbox.execute(instance, 'time'))).toBe(1_700_000_000_123);
    expect(valueOf(sandbox.execute(instance, 'time'))).toBe(1_700_000_000_123);
    expect(info.imports).toEqual([
      { module: 'env', name: '__get_time', kind: 'function' },
      { module: 'env', name: '__get_random', kind: 'function' },
    ]);
  });

  it('draw from PCG32 seeded by deterministicSeed: the reference sequence for seed 42', async () => {
    const { sandbox, instance } = await builtinsInstance({ deterministicSeed: 42 });
    const drawn = Array.from({ length: 6 }, () => valueOf(sandbox.execute(instance, 'random')) as number);
    expect(drawn.map((v) => v >>> 0)).toEqual([
      0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e,
    ]);
  });

  it('repeat for the same seed, differ for another, and restart when a module is loaded', async () => {
    const draw = async (seed: number) => {
      const { sandbox, instance } = await builtinsInstance({ deterministicSeed: seed });
      const first = Array.from({ length: 4 }, () => valueOf(sandbox.execute(instance, 'random')));
      await sandbox.load(instance, BUILTINS);
      const again = Array.from({ length: 4 }, () => valueOf(sandbox.execute(instance, 'random')));
      return { first, again };
    };
    const a = await draw(7);
    const b = await draw(7);
    const c = await draw(8);
    expect(a).toEqual(b);
    expect(a.again).toEqual(a.first);
    expect(c.first).not.toEqual(a.first);
  });

  it('must be imported with their own signatures', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    const wrong = await sandbox.load(
      created.value,
      wat('(module (import "env" "__get_time" (func (result i64))))'),
    );
    expect(errorOf(wrong)).toMatchObject({ code: 'INVALID_MODULE' });
    expect(errorOf(wrong).message).toMatch(
      /env.__get_time is imported as \(\) -> i64 but is provided as \(\) -> f64/,
    );
  });
});

describe('NaN canonicalization', () => {
  const NAN = wat(
    '(module (func (export "nan") (param f32) (result i32) (i32.reinterpret_f32 (f32.div (local.get 0) (local.get 0)))))',
  );

  it('is on by default: 0/0 gives the canonical NaN bits on every engine', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    await sandbox.load(created.value, NAN);
    expect((valueOf(sandbox.execute(created.value, 'nan', 0)) as number) >>> 0).toBe(0x7fc00000);
    expect(valueOf(sandbox.execute(created.value, 'nan', 2))).toBe(0x3f800000);
  });

  it('costs no gas, and can be turned off', async () => {
    const gasOf = async (canonicalizeNaNs: boolean) => {
      const sandbox = testSandbox({ canonicalizeNaNs });
      const created = sandbox.create();
      if (!created.ok) throw new Error();
      await sandbox.load(created.value, NAN);
      const result = sandbox.execute(created.value, 'nan', 0);
      return result.ok ? { gas: result.gasUsed, bits: (result.value as number) >>> 0 } : undefined;
    };
    const on = await gasOf(true);
    const off = await gasOf(false);
    expect(on?.gas).toBe(off?.gas);
    expect(on?.bits).toBe(0x7fc00000);
    expect(off?.bits).not.toBeUndefined();
  });
});

describe('call depth', () => {
  const RECURSE = wat(`(module
    (func $r (export "r") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0))
        (then (i32.const 0))
        (else (i32.add (call $r (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))`);

  it('is limited by maxCallDepth, at the same depth and gas on every run', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create({ maxCallDepth: 50, maxGas: 1e9 });
    if (!created.ok) throw new Error();
    await sandbox.load(created.value, RECURSE);
    expect(valueOf(sandbox.execute(created.value, 'r', 50))).toBe(50);
    const gas: number[] = [];
    for (let i = 0; i < 3; i++) {
      expect(errorOf(sandbox.execute(created.value, 'r', 51))).toMatchObject({
        code: 'WASM_TRAP',
        trapKind: 'stack_overflow',
        message: 'call depth exceeded maxCallDepth (50)',
      });
      gas.push(created.value.metrics.gasUsed);
    }
    expect(new Set(gas).size).toBe(1);
    expect(gas[0]).toBeGreaterThan(0);
    expect(valueOf(sandbox.execute(created.value, 'r', 10))).toBe(10);
  });

  it("stops infinite recursion with the default limit long before the engine's stack would", async () => {
    const sandbox = testSandbox();
    const created = sandbox.create({ maxGas: 1e9 });
    if (!created.ok) throw new Error();
    await sandbox.load(created.value, RECURSE);
    expect(valueOf(sandbox.execute(created.value, 'r', 1000))).toBe(1000);
    expect(errorOf(sandbox.execute(created.value, 'r', 5000)).message).toBe(
      'call depth exceeded maxCallDepth (1000)',
    );
  });
});

describe('the determinism policy', () => {
  it('refuses atomic instructions at load, naming the reason', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    const atomics = await sandbox.load(
      created.value,
      wat('(module (memory 1) (func (export "f") (drop (i32.atomic.load (i32.const 0)))))'),
    );
    expect(errorOf(atomics)).toMatchObject({ code: 'INVALID_MODULE' });
    expect(errorOf(atomics).message).toMatch(/not deterministic: atomic instructions \(threads\)/);
    expect(created.value.status).toBe('created');
  });

  it('refuses WASI and any other ambient import at load, naming it', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    const wasi = await sandbox.load(
      created.value,
      wat(
        '(module (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32))))',
      ),
    );
    expect(errorOf(wasi).message).toMatch(/wasi_snapshot_preview1.clock_time_get .* not provided/);
    expect(errorOf(wasi).message).toMatch(
      /env.__get_time \(function \(\) -> f64\), env.__get_random \(function \(\) -> i32\)/,
    );
  });
});
