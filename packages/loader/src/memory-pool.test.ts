import { describe, expect, it } from 'vitest';
import { WASM_PAGE_BYTES } from '@ri-sandbox/core';
import { MEMORY_POOL_MAX_USES, MemoryPool } from './memory-pool';

const memoryOf = (initial: number, maximum: number, fill = 0) => {
  const memory = new WebAssembly.Memory({ initial, maximum });
  new Uint8Array(memory.buffer).fill(fill);
  return memory;
};

describe('MemoryPool', () => {
  it('keeps nothing at first', () => {
    const pool = new MemoryPool();
    expect(pool.take(1, 1)).toBeUndefined();
    expect(pool.keptBytes).toBe(0);
  });

  it('gives back a memory of the same size and maximum, zeroed', () => {
    const pool = new MemoryPool();
    const memory = memoryOf(2, 8, 0xab);
    pool.give(memory, 8);
    expect(pool.keptBytes).toBe(2 * WASM_PAGE_BYTES);
    expect(pool.take(2, 7)).toBeUndefined();
    expect(pool.take(1, 8)).toBeUndefined();
    const taken = pool.take(2, 8);
    expect(taken).toBe(memory);
    expect(new Uint8Array(memory.buffer).every((byte) => byte === 0)).toBe(true);
    expect(memory.buffer.byteLength).toBe(2 * WASM_PAGE_BYTES);
    expect(pool.keptBytes).toBe(0);
    expect(pool.take(2, 8)).toBeUndefined();
  });

  it('detaches the views made of a memory it is given', () => {
    const pool = new MemoryPool();
    const memory = memoryOf(1, 1, 7);
    const view = new Uint8Array(memory.buffer);
    pool.give(memory, 1);
    expect(view.length).toBe(0);
    pool.take(1, 1);
    expect(view[0]).toBeUndefined();
  });

  it('files a grown memory under the size it grew to', () => {
    const pool = new MemoryPool();
    const memory = memoryOf(1, 4);
    memory.grow(2);
    pool.give(memory, 4);
    expect(pool.take(1, 4)).toBeUndefined();
    expect(pool.take(3, 4)).toBe(memory);
  });

  it('keeps a memory given twice once, so that no two instances share it', () => {
    const pool = new MemoryPool();
    const memory = memoryOf(1, 2);
    pool.give(memory, 2);
    pool.give(memory, 2);
    expect(pool.keptBytes).toBe(WASM_PAGE_BYTES);
    expect(pool.take(1, 2)).toBe(memory);
    expect(pool.take(1, 2)).toBeUndefined();
  });

  it('keeps within its limits: no memory above the largest, no more than the total', () => {
    const pool = new MemoryPool({ maxMemoryBytes: 2 * WASM_PAGE_BYTES, maxPooledBytes: 3 * WASM_PAGE_BYTES });
    const large = memoryOf(3, 3, 1);
    const view = new Uint8Array(large.buffer);
    pool.give(large, 3);
    expect(pool.keptBytes).toBe(0);
    // Not kept, still cut off from its views.
    expect(view.length).toBe(0);
    const [a, b, c] = [memoryOf(2, 2), memoryOf(1, 1), memoryOf(1, 1)];
    for (const memory of [a, b, c]) pool.give(memory, memory.buffer.byteLength / WASM_PAGE_BYTES);
    expect(pool.keptBytes).toBe(3 * WASM_PAGE_BYTES);
    expect(pool.take(2, 2)).toBe(a);
    expect(pool.take(1, 1)).toBe(b);
    expect(pool.take(1, 1)).toBeUndefined();
  });

  it('lets a memory go once it has served MEMORY_POOL_MAX_USES instances, and cuts it off all the same', () => {
    const pool = new MemoryPool();
    const memory = memoryOf(1, 2);
    for (let use = 1; use < MEMORY_POOL_MAX_USES; use++) {
      pool.give(memory, 2);
      expect(pool.take(1, 2)).toBe(memory);
    }
    const view = new Uint8Array(memory.buffer);
    pool.give(memory, 2);
    expect(view.length).toBe(0);
    expect(pool.keptBytes).toBe(0);
    expect(pool.take(1, 2)).toBeUndefined();
    // Another memory of the same shape is kept as before.
    const fresh = memoryOf(1, 2);
    pool.give(fresh, 2);
    expect(pool.take(1, 2)).toBe(fresh);
  });
});
