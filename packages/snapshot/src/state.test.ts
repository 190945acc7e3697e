import { describe, expect, it } from 'vitest';
import { decodeModule, encodeModule } from '@ri-sandbox/core';
import { wat } from '../../core/test/wat';
import { captureState } from './capture';
import { exposeState } from './expose';
import type { StateLayout } from './layout';
import { applyState, canRestoreInPlace, checkState } from './restore';
import type { InstanceImage } from './state';
import { frozen } from '../test/images';

const STATEFUL = `
(module
  (import "env" "host" (func $host (result i32)))
  (global $i (mut i32) (i32.const 1))
  (global $l (mut i64) (i64.const 2))
  (global $f (mut f32) (f32.const 3))
  (global $d (mut f64) (f64.const 4))
  (global $v (mut v128) (v128.const i64x2 5 6))
  (global $r (mut funcref) (ref.null func))
  (global $k i32 (i32.const 9))
  (memory (export "memory") 1 4)
  (table $t 2 10 funcref)
  (elem declare func $a $b $host)
  (data $p "passive")
  (data (i32.const 8) "active")
  (func $a (result i32) (i32.const 10))
  (func $b (result i32) (i32.const 20))
  (func (export "mutate")
    (global.set $i (i32.const 100))
    (global.set $l (i64.const -3))
    (global.set $f (f32.reinterpret_i32 (i32.const 0x7fa00001)))
    (global.set $d (f64.reinterpret_i64 (i64.const 0x7ff4000000000001)))
    (global.set $v (v128.const i64x2 -1 7))
    (global.set $r (ref.func $b))
    (table.set $t (i32.const 1) (ref.func $a))
    (drop (table.grow $t (ref.func $host) (i32.const 3)))
    (memory.init $p (i32.const 100) (i32.const 0) (i32.const 7))
    (data.drop $p)
    (i32.store (i32.const 8) (i32.const 0))
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 70000) (i32.const 42)))
  (func (export "f32bits") (result i32) (i32.reinterpret_f32 (global.get $f)))
  (func (export "v128high") (result i64) (i64x2.extract_lane 1 (global.get $v)))
  (func (export "callT") (param i32) (result i32) (call_indirect (result i32) (local.get 0)))
  (func (export "callR") (result i32)
    (table.set $t (i32.const 0) (global.get $r))
    (call_indirect (result i32) (i32.const 0)))
  (func (export "initAgain") (memory.init $p (i32.const 0) (i32.const 0) (i32.const 1)))
  (func $start (global.set $l (i64.add (global.get $l) (i64.const 1))))
  (start $start))`;

function exposed(source: string): { bytes: Uint8Array<ArrayBuffer>; layout: StateLayout } {
  const result = exposeState(decodeModule(wat(source)));
  if (!result.ok) throw new Error(result.error.message);
  return { bytes: new Uint8Array(encodeModule(result.value.module)), layout: result.value.layout };
}

const hostFunction = () => 30;

function instantiate(bytes: Uint8Array<ArrayBuffer>) {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { host: hostFunction } });
  const exports = instance.exports as Record<string, (...args: unknown[]) => unknown>;
  const memory = Object.values(instance.exports).find((e) => e instanceof WebAssembly.Memory);
  return { instance, exports, memory };
}

function capture(live: ReturnType<typeof instantiate>, layout: StateLayout): InstanceImage {
  const image = captureState(live.instance, layout);
  if (!image.ok) throw new Error(image.error.message);
  return frozen(image.value);
}

describe('exposeState, captureState and applyState', () => {
  const { bytes, layout } = exposed(STATEFUL);

  it('exposes every mutable global, the changeable table, the nameable functions, drops and start', () => {
    expect(layout.globals.map((g) => [g.index, g.type, g.access.kind])).toEqual([
      [0, 'i32', 'global'],
      [1, 'i64', 'global'],
      [2, 'f32', 'accessors'],
      [3, 'f64', 'accessors'],
      [4, 'v128', 'accessors'],
      [5, 'funcref', 'global'],
      [7, 'i32', 'global'], // the flag for data.drop $p
    ]);
    expect(layout.tables.map((t) => [t.index, t.minimum, t.maximum])).toEqual([[0, 2, 10]]);
    // The host import, $a, $b, and the six exported functions.
    expect(layout.functions.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(layout.redrop).toBeDefined();
    expect(layout.start).toBeDefined();
  });

  it('reads and writes a global the module exports through its own export, adding none', () => {
    const source = `(module
      (global $kept (export "counter") (mut i64) (i64.const 5))
      (global $also (export "again") (mut i64) (i64.const 6))
      (global $hidden (mut i32) (i32.const 7))
      (export "counter_too" (global $kept))
      (func (export "bump") (global.set $kept (i64.add (global.get $kept) (i64.const 1)))))`;
    const { bytes: own, layout: ownLayout } = exposed(source);
    expect(ownLayout.globals.map((g) => g.access)).toEqual([
      { kind: 'global', exportName: 'counter' },
      { kind: 'global', exportName: 'again' },
      { kind: 'global', exportName: '__ri_snapshot_global_2' },
    ]);
    const names = WebAssembly.Module.exports(new WebAssembly.Module(own)).map((e) => e.name);
    expect(names.filter((n) => n.startsWith('__ri_snapshot_global_'))).toEqual(['__ri_snapshot_global_2']);
    const live = instantiate(own);
    live.exports['bump']?.();
    const image = capture(live, ownLayout);
    expect(image.globals.map((g) => g.value)).toEqual([
      { type: 'i64', value: 6n },
      { type: 'i64', value: 6n },
      { type: 'i32', value: 7 },
    ]);
    const fresh = instantiate(own);
    const applied = applyState(fresh.instance, ownLayout, image);
    if (!applied.ok) throw new Error(applied.error.message);
    expect((fresh.instance.exports['counter'] as WebAssembly.Global).value).toBe(6n);
  });

  it('turns the start function into an export that instantiation does not run', () => {
    const live = instantiate(bytes);
    const before = capture(live, layout).globals[1]?.value;
    live.exports[layout.start as string]?.();
    expect(before).toEqual({ type: 'i64', value: 2n });
    expect(capture(live, layout).globals[1]?.value).toEqual({ type: 'i64', value: 3n });
  });

  it('restores a fresh instance to exactly the captured state, and it behaves the same', () => {
    const original = instantiate(bytes);
    original.exports[layout.start as string]?.();
    original.exports['mutate']?.();
    const image = capture(original, layout);
    expect(image.globals[2]?.value).toEqual({ type: 'f32', bits: 0x7fa00001 });
    expect(image.globals[3]?.value).toEqual({ type: 'f64', bits: 0x7ff4000000000001n });
    expect(image.globals[4]?.value).toEqual({ type: 'v128', low: (1n << 64n) - 1n, high: 7n });
    expect(image.tables[0]?.elements).toEqual(Int32Array.of(-1, 1, 0, 0, 0));
    expect(image.memory?.pages).toBe(2);

    const copy = instantiate(bytes);
    expect(checkState(layout, image, { initialPages: 1, maximumPages: 4 })).toBeUndefined();
    expect(applyState(copy.instance, layout, image)).toEqual({ ok: true, value: undefined });
    expect(capture(copy, layout)).toEqual(image);
    for (const live of [original, copy]) {
      expect(live.exports['f32bits']?.()).toBe(0x7fa00001);
      expect(live.exports['v128high']?.()).toBe(7n);
      expect([1, 2, 3, 4].map((i) => live.exports['callT']?.(i))).toEqual([10, 30, 30, 30]);
      expect(live.exports['callR']?.()).toBe(20);
      expect(() => live.exports['initAgain']?.()).toThrow(WebAssembly.RuntimeError);
      expect(new Uint8Array(live.memory?.buffer ?? new ArrayBuffer(0), 100, 7)).toEqual(
        new TextEncoder().encode('passive'),
      );
    }
  });

  it('restores an earlier, smaller state over active data segments', () => {
    const original = instantiate(bytes);
    const image = capture(original, layout);
    const copy = instantiate(bytes);
    copy.exports['mutate']?.();
    // Not fresh: the caller is told to use a fresh instance, but the memory writes still leave no trace.
    const fresh = instantiate(bytes);
    new Uint8Array(fresh.memory?.buffer ?? new ArrayBuffer(0)).fill(7, 0, 200);
    expect(applyState(fresh.instance, layout, image).ok).toBe(true);
    expect(capture(fresh, layout)).toEqual(image);
    expect(fresh.exports['initAgain']?.()).toBeUndefined();
  });

  it('restores in place only where that gives exactly the captured state', () => {
    const live = instantiate(bytes);
    const fresh = capture(live, layout);
    expect(canRestoreInPlace(live.instance, layout, fresh)).toBe(true);
    live.exports['mutate']?.();
    const mutated = capture(live, layout);
    // Grown memory and table, a dropped segment: the fresh state needs a fresh instance.
    expect(canRestoreInPlace(live.instance, layout, fresh)).toBe(false);
    expect(canRestoreInPlace(live.instance, layout, mutated)).toBe(true);
    const other = instantiate(bytes);
    other.exports['mutate']?.();
    expect(applyState(other.instance, layout, mutated).ok).toBe(true);
    expect(capture(other, layout)).toEqual(mutated);
    // Same sizes, but the segment dropped here is kept in the image: not in place.
    const keptSegment = {
      ...mutated,
      globals: mutated.globals.map((g) =>
        g.index === 7 ? { index: 7, value: { type: 'i32' as const, value: 0 } } : g,
      ),
    };
    expect(canRestoreInPlace(live.instance, layout, keptSegment)).toBe(false);
    const shorterTable = { ...mutated, tables: [{ index: 0, elements: new Int32Array(4).fill(-1) }] };
    expect(canRestoreInPlace(live.instance, layout, shorterTable)).toBe(false);
  });

  it('restores in place a state whose memory is larger, growing the memory first', () => {
    const live = instantiate(bytes);
    const fresh = capture(live, layout);
    const grown = instantiate(bytes);
    grown.exports['mutate']?.();
    // The fresh state with the grown memory: tables and segments as they are in a fresh instance.
    const largerMemory = { ...fresh, memory: capture(grown, layout).memory };
    expect(largerMemory.memory?.pages).toBeGreaterThan(fresh.memory?.pages ?? 0);
    expect(canRestoreInPlace(live.instance, layout, largerMemory)).toBe(true);
    expect(applyState(live.instance, layout, largerMemory).ok).toBe(true);
    expect(capture(live, layout)).toEqual(largerMemory);
    // Back down is not in place: a memory cannot shrink.
    expect(canRestoreInPlace(live.instance, layout, fresh)).toBe(false);
  });

  it('brings back a passive element segment that was dropped after the snapshot', () => {
    const elements = exposed(`(module
      (table $t (export "t") 2 funcref)
      (func $one (result i32) (i32.const 1))
      (elem $e func $one)
      (func (export "init") (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1)))
      (func (export "drop") (elem.drop $e)))`);
    expect(elements.layout.dropFlags).toHaveLength(1);
    const live = instantiate(elements.bytes);
    const before = capture(live, elements.layout);
    live.exports['drop']?.();
    expect(() => live.exports['init']?.()).toThrow(WebAssembly.RuntimeError);
    expect(canRestoreInPlace(live.instance, elements.layout, before)).toBe(false);
    const fresh = instantiate(elements.bytes);
    expect(applyState(fresh.instance, elements.layout, before).ok).toBe(true);
    expect(fresh.exports['init']?.()).toBeUndefined();
    const dropped = capture(live, elements.layout);
    const again = instantiate(elements.bytes);
    expect(applyState(again.instance, elements.layout, dropped).ok).toBe(true);
    expect(() => again.exports['init']?.()).toThrow(WebAssembly.RuntimeError);
  });

  it('says why a state does not fit the module', () => {
    const image = capture(instantiate(bytes), layout);
    const bounds = { initialPages: 1, maximumPages: 4 };
    const check = (changed: Partial<InstanceImage>) => checkState(layout, { ...image, ...changed }, bounds);
    expect(check({ globals: image.globals.slice(1) })).toMatch(/6 mutable globals, the module has 7/);
    expect(
      check({ globals: [{ index: 0, value: { type: 'i64', value: 1n } }, ...image.globals.slice(1)] }),
    ).toMatch(/global 0 \(i32\)/);
    const badRef = image.globals.map((g) =>
      g.index === 5 ? { index: 5, value: { type: 'funcref' as const, function: 99 } } : g,
    );
    expect(check({ globals: badRef })).toMatch(/global 5/);
    expect(check({ tables: [] })).toMatch(/0 tables/);
    expect(check({ tables: [{ index: 3, elements: new Int32Array(2) }] })).toMatch(/table 0 is missing/);
    expect(check({ tables: [{ index: 0, elements: new Int32Array(11) }] })).toMatch(/11 elements/);
    expect(check({ tables: [{ index: 0, elements: new Int32Array(1) }] })).toMatch(/1 elements/);
    expect(check({ tables: [{ index: 0, elements: Int32Array.of(-1, 42) }] })).toMatch(/cannot name/);
    expect(check({ memory: undefined })).toMatch(/no memory, the module has one/);
    expect(checkState(layout, image, undefined)).toMatch(/has a memory, the module has none/);
    expect(check({ memory: { pages: 5, chunks: [] } })).toMatch(/5 pages is outside .* \(1 to 4 pages\)/);
    expect(check({ memory: { pages: 0, chunks: [] } })).toMatch(/0 pages/);
  });

  it('reports an engine that refuses the state as SNAPSHOT_ERROR', () => {
    const image = capture(instantiate(bytes), layout);
    const copy = instantiate(bytes);
    const tooBig = { ...image, memory: { pages: 5, chunks: [] } };
    expect(canRestoreInPlace(copy.instance, layout, tooBig)).toBe(true);
    const applied = applyState(copy.instance, layout, tooBig);
    expect(applied.ok).toBe(false);
    if (!applied.ok) expect(applied.error.reason).toMatch(/the instance refused/);
    // Growing is the first step: when the engine refuses it, nothing has changed.
    expect(capture(copy, layout)).toEqual(image);
  });

  it('answers SNAPSHOT_ERROR, not an exception, for an instance of another module', () => {
    const other = instantiate(wat(`(module (func (export "f")))`));
    const image = capture(instantiate(bytes), layout);
    const captured = captureState(other.instance, layout);
    expect(!captured.ok && captured.error.reason).toMatch(
      /does not match the layout: .* is not an exported memory/,
    );
    expect(canRestoreInPlace(other.instance, layout, image)).toBe(false);
    const applied = applyState(other.instance, layout, image);
    expect(!applied.ok && applied.error.reason).toMatch(/the instance refused the restored state/);
    const noMemory = { ...layout, memory: undefined };
    expect(canRestoreInPlace(other.instance, noMemory, { ...image, memory: undefined })).toBe(false);
  });

  it('refuses host references, which cannot be captured', () => {
    const ext = exposed(
      `(module (table $e (export "e") 1 externref) (global $g (mut externref) (ref.null extern)))`,
    );
    const live = instantiate(ext.bytes);
    expect(captureState(live.instance, ext.layout).ok).toBe(true);
    (live.instance.exports['e'] as WebAssembly.Table).set(0, {});
    const refused = captureState(live.instance, ext.layout);
    expect(!refused.ok && refused.error.reason).toMatch(/table 0 slot 0 holds a host reference/);
  });

  it('refuses a function reference it cannot name', () => {
    const other = instantiate(wat(`(module (func (export "f")))`));
    const ext = exposed(`(module (table $t (export "t") 1 funcref))`);
    const live = instantiate(ext.bytes);
    (live.instance.exports['t'] as WebAssembly.Table).set(0, other.exports['f']);
    const refused = captureState(live.instance, ext.layout);
    expect(!refused.ok && refused.error.reason).toMatch(/holds a function the module cannot name/);
  });

  it('leaves a module with nothing to expose alone, and refuses the reserved prefix', () => {
    const plain = exposeState(decodeModule(wat(`(module (func (export "f")))`)));
    expect(plain.ok && plain.value.layout).toEqual({
      globals: [],
      tables: [],
      functions: [],
      dropFlags: [],
      redrop: undefined,
      start: undefined,
    });
    const clash = exposeState(decodeModule(wat(`(module (func (export "__ri_snapshot_x")))`)));
    expect(!clash.ok && clash.error.message).toMatch(/reserved export name __ri_snapshot_x/);
  });
});
