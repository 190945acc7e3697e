/**
 * Linear memories kept for reuse. A new WebAssembly memory costs more than
 * the rest of most instantiations: the engine reserves its address space
 * (gigabytes of guard region on 64-bit machines), maps its pages, takes page
 * faults as data segments are written, and unmaps it all when it is
 * collected. A memory whose instance is gone can serve the next instance
 * that needs one of the same size and maximum, zeroed: the instance cannot
 * tell it from a new one.
 */
import { WASM_PAGE_BYTES } from '@ri-sandbox/core';

/** How much a {@link MemoryPool} keeps. */
export interface MemoryPoolLimits {
  /** The largest memory kept, in bytes: zeroing a larger one may cost more than a new one. */
  readonly maxMemoryBytes: number;
  /** The most kept in all, in bytes. */
  readonly maxPooledBytes: number;
}

/** 16 MiB per memory (zeroed in about half the time a new one takes), 32 MiB in all. */
export const DEFAULT_MEMORY_POOL_LIMITS: MemoryPoolLimits = Object.freeze({
  maxMemoryBytes: 16 << 20,
  maxPooledBytes: 32 << 20,
});

/**
 * How many instances one memory serves before the pool lets it go. The engine
 * lists every instance a memory has served until a full collection clears the
 * dead ones, and walks that list whenever the memory grows (a guest's
 * `memory.grow`, or the `grow(0)` that detaches its views here): in V8 a
 * memory that had served 1,500 instances took 0.7 ms to grow by nothing, 1 µs
 * fresh. Sixteen keeps a grow within a few microseconds, and the new memory
 * made every sixteenth instance (about 100 µs) costs less than the walks
 * it avoids.
 */
export const MEMORY_POOL_MAX_USES = 16;

/**
 * Memories given back by instances that are gone, by size and maximum.
 * {@link give} cuts a memory off from every view made of it; {@link take}
 * zeroes it. A memory is kept for at most {@link MEMORY_POOL_MAX_USES}
 * instances. Not for shared memories.
 */
export class MemoryPool {
  readonly #free = new Map<string, WebAssembly.Memory[]>();
  /** Every memory kept: one given twice is kept once (two instances must never share a memory). */
  readonly #kept = new WeakSet<WebAssembly.Memory>();
  /** How many times each memory was given (one per instance it served). */
  readonly #uses = new WeakMap<WebAssembly.Memory, number>();
  #keptBytes = 0;

  constructor(readonly limits: MemoryPoolLimits = DEFAULT_MEMORY_POOL_LIMITS) {}

  /** How many bytes of memory the pool keeps. */
  get keptBytes(): number {
    return this.#keptBytes;
  }

  /**
   * A memory of `initialPages` pages, all zero, that may grow to
   * `maximumPages`; `undefined` if none is kept.
   */
  take(initialPages: number, maximumPages: number): WebAssembly.Memory | undefined {
    const memory = this.#free.get(shapeKey(initialPages, maximumPages))?.pop();
    if (memory === undefined) return undefined;
    this.#kept.delete(memory);
    this.#keptBytes -= initialPages * WASM_PAGE_BYTES;
    new Uint8Array(memory.buffer).fill(0);
    return memory;
  }

  /**
   * Keeps `memory`, created with the maximum `maximumPages`, if it fits the
   * limits. Give only a memory no code will use again: no instance that may
   * still run has it. Views of it (its current `buffer`) are detached: a
   * host that kept one reads nothing, rather than the next instance's data.
   */
  give(memory: WebAssembly.Memory, maximumPages: number): void {
    if (this.#kept.has(memory)) return;
    const bytes = memory.buffer.byteLength;
    // Growing by nothing replaces the buffer, detaching the old one.
    memory.grow(0);
    const uses = (this.#uses.get(memory) ?? 0) + 1;
    if (uses >= MEMORY_POOL_MAX_USES) return;
    if (bytes > this.limits.maxMemoryBytes || this.#keptBytes + bytes > this.limits.maxPooledBytes) return;
    this.#uses.set(memory, uses);
    const key = shapeKey(bytes / WASM_PAGE_BYTES, maximumPages);
    const list = this.#free.get(key);
    if (list === undefined) this.#free.set(key, [memory]);
    else list.push(memory);
    this.#kept.add(memory);
    this.#keptBytes += bytes;
  }
}

const shapeKey = (pages: number, maximumPages: number) => `${pages}/${maximumPages}`;
