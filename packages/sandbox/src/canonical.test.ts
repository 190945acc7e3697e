import { describe, expect, it } from 'vitest';
import { wat } from '../../core/test/wat';
import { errorOf, testSandbox, valueOf } from '../test/helpers';
import { canonicalArgs, isCanonicalArguments } from './canonical';

/**
 * A guest with a bump allocator as `cabi_realloc` (it traps on alignment 3, and answers
 * 0xffff0000 for a size of 99999), `sum` adding up bytes, `lengths` adding up the lengths
 * of a list's records, and `mixed` taking a number, bytes and an i64.
 */
const GUEST = wat(`(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $at i32)
    (if (i32.eq (local.get 2) (i32.const 3)) (then unreachable))
    (if (i32.eq (local.get 3) (i32.const 99999)) (then (return (i32.const 0xffff0000))))
    (local.set $at (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                            (i32.sub (i32.const 0) (local.get 2))))
    (global.set $next (i32.add (local.get $at) (local.get 3)))
    (local.get $at))
  (func $sum (export "sum") (param $at i32) (param $length i32) (result i32) (local $total i32)
    (block $done (loop $each
      (br_if $done (i32.eqz (local.get $length)))
      (local.set $total (i32.add (local.get $total) (i32.load8_u (local.get $at))))
      (local.set $at (i32.add (local.get $at) (i32.const 1)))
      (local.set $length (i32.sub (local.get $length) (i32.const 1)))
      (br $each)))
    (local.get $total))
  (func (export "lengths") (param $at i32) (param $count i32) (result i32) (local $total i32)
    (block $done (loop $each
      (br_if $done (i32.eqz (local.get $count)))
      (local.set $total (i32.add (local.get $total)
        (call $sum (i32.load (local.get $at)) (i32.load offset=4 (local.get $at)))))
      (local.set $at (i32.add (local.get $at) (i32.const 8)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (br $each)))
    (local.get $total))
  (func (export "mixed") (param i32 i32 i32 i64) (result i64)
    (i64.add (i64.extend_i32_u (i32.add (local.get 0) (call $sum (local.get 1) (local.get 2))))
             (local.get 3))))`);

async function guest(bytes: Uint8Array = GUEST) {
  const sandbox = testSandbox();
  const created = sandbox.create({});
  if (!created.ok) throw new Error(created.error.message);
  const loaded = await sandbox.load(created.value, bytes);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return { sandbox, instance: created.value };
}

describe('canonicalArgs: strings and bytes as arguments', () => {
  it('copies a string as UTF-8 and passes its pointer and length', async () => {
    const { sandbox, instance } = await guest();
    // "é" is two bytes, 0xc3 0xa9.
    expect(valueOf(sandbox.execute(instance, 'sum', canonicalArgs('aé')))).toBe(0x61 + 0xc3 + 0xa9);
    expect(valueOf(sandbox.execute(instance, 'sum', canonicalArgs('')))).toBe(0);
  });

  it('copies bytes, lists of strings and bytes, and passes numbers as they are', async () => {
    const { sandbox, instance } = await guest();
    expect(valueOf(sandbox.execute(instance, 'sum', canonicalArgs(new Uint8Array([1, 2, 250]))))).toBe(253);
    const list = canonicalArgs(['ab', new Uint8Array([5]), '']);
    expect(valueOf(sandbox.execute(instance, 'lengths', list))).toBe(0x61 + 0x62 + 5);
    expect(valueOf(sandbox.execute(instance, 'lengths', canonicalArgs([])))).toBe(0);
    expect(valueOf(sandbox.execute(instance, 'mixed', canonicalArgs(10, 'a', 2n ** 40n)))).toBe(
      2n ** 40n + 10n + 0x61n,
    );
  });

  it('meters the allocations: they run inside the execution', async () => {
    const { sandbox, instance } = await guest();
    const direct = sandbox.execute(instance, 'sum', [2048, 0]);
    const lowered = sandbox.execute(instance, 'sum', canonicalArgs(''));
    expect(direct.ok && lowered.ok && lowered.gasUsed > direct.gasUsed).toBe(true);
  });

  it('refuses arguments it cannot lower, or that do not fit the parameters, before anything runs', async () => {
    const { sandbox, instance } = await guest();
    const before = instance.metrics.gasUsed;
    const refused = [
      canonicalArgs({} as never),
      canonicalArgs(['a', 5] as never),
      canonicalArgs('a'),
      canonicalArgs(1.5, 'a', 0n),
    ].map((payload) => errorOf(sandbox.execute(instance, 'mixed', payload)));
    expect(refused.map((e) => e.code)).toEqual(Array(4).fill('INVALID_PAYLOAD'));
    expect(refused[0]?.message).toContain('argument 0: expected a number');
    expect(refused[1]?.message).toContain('argument 0, item 1: expected a string or a Uint8Array');
    expect(refused[2]?.message).toContain('expected 4 arguments');
    expect(refused[3]?.message).toContain('argument 0: expected an i32');
    expect(instance.metrics.gasUsed).toBe(before);
  });

  it('says what the guest lacks or breaks: no cabi_realloc, a wrong one, a bad pointer, a trap', async () => {
    const noRealloc = await guest(wat('(module (memory 1) (func (export "f") (param i32 i32)))'));
    expect(errorOf(noRealloc.sandbox.execute(noRealloc.instance, 'f', canonicalArgs('x')))).toMatchObject({
      code: 'WASM_TRAP',
      trapKind: 'missing_export',
    });
    const wrong = await guest(
      wat(`(module (memory 1) (func (export "cabi_realloc") (param i32) (result i32) (i32.const 0))
        (func (export "f") (param i32 i32)))`),
    );
    const wrongError = errorOf(wrong.sandbox.execute(wrong.instance, 'f', canonicalArgs('x')));
    expect(wrongError).toMatchObject({ code: 'WASM_TRAP', trapKind: 'abi_violation' });
    expect(wrongError.message).toContain('(i32) -> i32');
    const noMemory = await guest(
      wat(`(module (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
        (func (export "f") (param i32 i32)))`),
    );
    expect(errorOf(noMemory.sandbox.execute(noMemory.instance, 'f', canonicalArgs('x'))).message).toContain(
      'need a memory',
    );
    const { sandbox, instance } = await guest();
    const outside = errorOf(sandbox.execute(instance, 'sum', canonicalArgs(new Uint8Array(99999))));
    expect(outside).toMatchObject({ code: 'WASM_TRAP', trapKind: 'abi_violation' });
    expect(outside.message).toContain('returned 4294901760 for 99999 bytes');
  });

  it('stops when the allocator traps while lowering a list', async () => {
    // Alignment 4 is what a list asks for; a guest whose allocator traps on it stops the call.
    const trapsOnLists = wat(`(module (memory (export "memory") 1)
      (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
        (if (i32.eq (local.get 2) (i32.const 4)) (then unreachable)) (i32.const 64))
      (func (export "f") (param i32 i32) (result i32) (local.get 1)))`);
    const { sandbox, instance } = await guest(trapsOnLists);
    expect(valueOf(sandbox.execute(instance, 'f', canonicalArgs('abc')))).toBe(3);
    expect(errorOf(sandbox.execute(instance, 'f', canonicalArgs(['abc'])))).toMatchObject({
      code: 'WASM_TRAP',
      trapKind: 'unreachable',
    });
  });

  it('is recognised by its brand, not by its shape', () => {
    expect(isCanonicalArguments(canonicalArgs(1))).toBe(true);
    expect(isCanonicalArguments({ args: [1] })).toBe(false);
    expect(isCanonicalArguments(null)).toBe(false);
    expect(Object.isFrozen(canonicalArgs('a').args)).toBe(true);
  });
});
