import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModuleCache, fingerprint } from './module-cache';

describe('the module cache', () => {
  it('finds a value by equal bytes (another copy) and variant, and nothing for other bytes or variants', () => {
    const cache = new ModuleCache<string>(4);
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
    cache.set(bytes, 'a', 'compiled');
    expect(cache.get(bytes.slice(), 'a')).toBe('compiled');
    expect(cache.get(bytes.slice(), 'b')).toBeUndefined();
    expect(cache.get(bytes.slice(0, 99), 'a')).toBeUndefined();
  });

  it('never mixes two modules that share a fingerprint: the bytes decide', () => {
    // Large enough that not every word is sampled: a change in an unsampled word keeps the fingerprint.
    const one = new Uint8Array(1 << 16).fill(7);
    const other = one.slice();
    other[4 * 1001 + 2] = 8;
    expect(fingerprint(other)).toBe(fingerprint(one));
    const cache = new ModuleCache<string>(4);
    cache.set(one, '', 'one');
    expect(cache.get(other, '')).toBeUndefined();
    cache.set(other, '', 'other');
    expect(cache.get(other, '')).toBe('other');
    expect(cache.get(one, '')).toBeUndefined();
  });

  it('drops the least recently used entry past its capacity', () => {
    const cache = new ModuleCache<number>(2);
    const modules = [1, 2, 3].map((n) => new Uint8Array([n, n, n, n, n]));
    cache.set(modules[0] as Uint8Array, '', 1);
    cache.set(modules[1] as Uint8Array, '', 2);
    expect(cache.get(modules[0] as Uint8Array, '')).toBe(1); // now the most recent
    cache.set(modules[2] as Uint8Array, '', 3);
    expect(cache.get(modules[1] as Uint8Array, '')).toBeUndefined();
    expect(cache.get(modules[0] as Uint8Array, '')).toBe(1);
    expect(cache.get(modules[2] as Uint8Array, '')).toBe(3);
  });

  it('hands each value it lets go of, dropped or replaced, to onEvict, and no other', () => {
    const evicted: number[] = [];
    const cache = new ModuleCache<number>(2, (value) => evicted.push(value));
    const modules = [1, 2, 3].map((n) => new Uint8Array([n, n, n, n, n]));
    cache.set(modules[0] as Uint8Array, '', 1);
    cache.set(modules[0] as Uint8Array, '', 1);
    cache.set(modules[0] as Uint8Array, '', 10);
    cache.set(modules[1] as Uint8Array, '', 2);
    expect(evicted).toEqual([1]);
    cache.set(modules[2] as Uint8Array, '', 3);
    expect(evicted).toEqual([1, 10]);
    cache.delete(modules[1] as Uint8Array, '', 2);
    expect(evicted).toEqual([1, 10]);
  });

  it('answers a load of the module used last by its bytes alone, and never after they change or it is dropped', () => {
    const cache = new ModuleCache<string>(2);
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => i);
    cache.set(bytes.slice(), 'a', 'kept');
    expect(cache.get(bytes, 'a')).toBe('kept');
    expect(cache.get(bytes, 'a')).toBe('kept');
    expect(cache.get(bytes, 'b')).toBeUndefined();
    bytes[299] = 0; // the caller reuses its buffer: the same array, other bytes
    expect(cache.get(bytes, 'a')).toBeUndefined();
    bytes[299] = 299 & 0xff;
    expect(cache.get(bytes, 'a')).toBe('kept');
    cache.delete(bytes, 'a', 'other value');
    expect(cache.get(bytes, 'a')).toBe('kept');
    cache.delete(bytes, 'a', 'kept');
    expect(cache.get(bytes, 'a')).toBeUndefined();
    // With no room at all, what is kept is dropped at once: the last one too.
    const none = new ModuleCache<string>(0);
    none.set(bytes, 'a', 'gone');
    expect(none.get(bytes, 'a')).toBeUndefined();
  });

  it('keeps within a budget of bytes, dropping the least recently used first, and always the newest', () => {
    const evicted: string[] = [];
    const cache = new ModuleCache<string>(10, (value) => evicted.push(value), 100);
    const modules = [40, 40, 30].map((length, i) => new Uint8Array(length).fill(i + 1));
    modules.forEach((bytes, i) => {
      cache.set(bytes, '', `m${i}`);
    });
    // 110 bytes: the oldest goes.
    expect(evicted).toEqual(['m0']);
    expect(cache.get(modules[1] as Uint8Array, '')).toBe('m1');
    // One larger than the budget is kept alone: the others go, oldest (now m2) first.
    const large = new Uint8Array(150).fill(9);
    cache.set(large, '', 'large');
    expect(evicted).toEqual(['m0', 'm2', 'm1']);
    expect(cache.get(large, '')).toBe('large');
    // Deleting gives its bytes back to the budget.
    cache.delete(large, '', 'large');
    cache.set(modules[0] as Uint8Array, '', 'm0 again');
    cache.set(modules[1] as Uint8Array, '', 'm1 again');
    expect(evicted).toEqual(['m0', 'm2', 'm1']);
    expect([cache.get(modules[0] as Uint8Array, ''), cache.get(modules[1] as Uint8Array, '')]).toEqual([
      'm0 again',
      'm1 again',
    ]);
  });

  it('fingerprints equal bytes alike, aligned or not, whatever their length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(3), fc.nat(3), (bytes, at, shift) => {
        const a = new Uint8Array(bytes.length + 4);
        a.set(bytes, at);
        const b = new Uint8Array(bytes.length + 4);
        b.set(bytes, shift);
        expect(fingerprint(a.subarray(at, at + bytes.length))).toBe(
          fingerprint(b.subarray(shift, shift + bytes.length)),
        );
      }),
    );
  });
});
