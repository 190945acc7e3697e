/**
 * WebAssembly instances kept for reuse. A new instance costs the engine more
 * than everything else a load of a compiled module does: V8 makes a function
 * object for every export and keeps the instance in its old generation until
 * a full collection, so that a loop of loads grows the heap by kilobytes each
 * (5 to 18 µs per instance of a six-function module here, against 1 to 2 µs
 * for the rest of the load). An instance whose sandbox instance is gone
 * (destroyed, reloaded, or rebuilt by a restore) can serve the next load of
 * the same compiled module with the same host functions instead: put back in
 * the state instantiation gives every instance of the module (captured from
 * the first, before its start function ran), the guest cannot tell it from a
 * new one. Its imports stay bound to what its first load made (the meter, the
 * abort box, the clock and random generator, which the reusing load resets),
 * and reach the new load's host context through a {@link ContextSlot}. The
 * process's idle instances share one budget ({@link IdleRegistry}), and give
 * their memories up to the loads of other factories that need one.
 */
import { type HostFunction, WASM_PAGE_BYTES } from '@ri-sandbox/core';
import {
  type InstanceImage,
  type MemoryImage,
  type MemoryRange,
  type StateLayout,
  applyState,
  canRestoreInPlace,
  captureState,
  chunkRanges,
} from '@ri-sandbox/snapshot';
import type { HostContext, LiveModule } from './instance';

/** Where bridged host functions find the context of the load that currently owns their instance. */
export interface ContextSlot {
  current: HostContext;
}

/**
 * What a module's host imports are bound to, import by import: the host
 * function, or the name of a builtin (whose closures the reusing load resets
 * rather than replaces). Two loads with equal keys may share an instance: host
 * functions are equal when they have the same handler, name, module and
 * signature (each config holds its own frozen copy of what it was given).
 */
export type ImportsKey = readonly (HostFunction | string)[];

/** At most this many idle instances per module. */
export const IDLE_PER_MODULE = 4;
/** At most this many idle instances in a process (see {@link IdleRegistry}). */
export const IDLE_PER_PROCESS = 64;
/** At most this much linear memory in a process's idle instances (and none larger than it). */
export const IDLE_BYTES_PER_PROCESS = 16 << 20;
/**
 * A module whose instances start with more than this in memory (its data segments, in whole blocks)
 * has none kept: the copy of that initial state would be kept as long as the module.
 */
export const IDLE_INITIAL_BYTES = 1 << 20;

interface Parked {
  readonly live: LiveModule;
  readonly key: ImportsKey;
  readonly bytes: number;
  /** The idle instances of its module, which keep it. */
  readonly owner: IdleInstances;
}

/**
 * Every idle instance of a process, oldest first, within one budget: the
 * process's sandbox factories share it, as they share the memory pool. A
 * factory made per request keeps the instances of its loads until it is
 * collected: their memories must not be lost to the next factories, which
 * cannot reuse the instances (each factory compiles its own modules). So the
 * oldest instance makes way for a new one past the budget, and a memory the
 * pool lacks is taken from an idle instance of the same shape; either way the
 * instance is let go of, and its memory serves on.
 */
export class IdleRegistry {
  readonly #parked = new Set<Parked>();
  #bytes = 0;

  /**
   * Keeps `parked` (which fits the budget alone), letting the oldest go to
   * make room: returns those, whose memories the caller gives to the pool.
   */
  admit(parked: Parked): LiveModule[] {
    const evicted: LiveModule[] = [];
    for (const oldest of this.#parked) {
      if (this.#parked.size < IDLE_PER_PROCESS && this.#bytes + parked.bytes <= IDLE_BYTES_PER_PROCESS) break;
      this.#forget(oldest);
      evicted.push(oldest.live);
    }
    this.#parked.add(parked);
    this.#bytes += parked.bytes;
    return evicted;
  }

  /** Stops counting `parked`, which its module no longer keeps. */
  remove(parked: Parked): void {
    if (this.#parked.delete(parked)) this.#bytes -= parked.bytes;
  }

  /**
   * Lets go of an idle instance whose memory has `pages` pages and the
   * maximum `maximumPages`, and returns it (for its memory); `undefined` if
   * none has.
   */
  releaseWithMemory(pages: number, maximumPages: number): LiveModule | undefined {
    for (const parked of this.#parked) {
      if (
        parked.live.memory === undefined ||
        parked.bytes !== pages * WASM_PAGE_BYTES ||
        parked.live.compiled.memory.maximumPages !== maximumPages
      )
        continue;
      this.#forget(parked);
      return parked.live;
    }
    return undefined;
  }

  #forget(parked: Parked): void {
    this.remove(parked);
    parked.owner.release(parked);
  }
}

function sameTypes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((type, i) => type === b[i]);
}

function sameBinding(a: HostFunction | string | undefined, b: HostFunction | string | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  return (
    a.handler === b.handler &&
    a.name === b.name &&
    a.module === b.module &&
    sameTypes(a.params, b.params) &&
    sameTypes(a.results, b.results)
  );
}

function sameKey(a: ImportsKey, b: ImportsKey): boolean {
  return a.length === b.length && a.every((binding, i) => sameBinding(binding, b[i]));
}

/** `image` with its memory copied out of the live memory it views (see `captureState`). */
function ownCopy(image: InstanceImage): InstanceImage {
  const memory: MemoryImage | undefined =
    image.memory === undefined
      ? undefined
      : {
          pages: image.memory.pages,
          chunks: image.memory.chunks.map((chunk) => ({ offset: chunk.offset, bytes: chunk.bytes.slice() })),
        };
  return { globals: image.globals, tables: image.tables, memory };
}

/** The idle instances of one compiled module, and the state its instances start in. */
export class IdleInstances {
  /** `undefined` until the first instance is seen; `null` if the module's instances cannot be reused. */
  #initial: InstanceImage | null | undefined;
  /** Where an instance put back in {@link #initial} may hold something other than zeros. */
  #initialWritten: readonly MemoryRange[] = [];
  readonly #parked: Parked[] = [];

  constructor(
    private readonly layout: StateLayout,
    private readonly registry: IdleRegistry,
  ) {}

  /**
   * Records the state `instance` starts in, from the first instance of the
   * module (just instantiated, on a memory that was all zeros: no guest code
   * has run; `written`, where its data segments wrote, if known, is all that
   * is read of it). A module whose state cannot be captured (a host function
   * in a table), whose memory is larger than the budget or starts with more
   * than {@link IDLE_INITIAL_BYTES} in it has its instances never kept.
   */
  noteFresh(
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory | undefined,
    written: readonly MemoryRange[] | undefined,
  ): void {
    if (this.#initial !== undefined) return;
    if (memory !== undefined && memory.buffer.byteLength > IDLE_BYTES_PER_PROCESS) {
      this.#initial = null;
      return;
    }
    const captured = captureState(instance, this.layout, { written });
    const initialBytes = captured.ok
      ? (captured.value.memory?.chunks.reduce((sum, chunk) => sum + chunk.bytes.length, 0) ?? 0)
      : Infinity;
    this.#initial = initialBytes <= IDLE_INITIAL_BYTES && captured.ok ? ownCopy(captured.value) : null;
    if (this.#initial !== null) this.#initialWritten = chunkRanges(this.#initial);
  }

  /**
   * Keeps `live` (whose sandbox instance is gone, and on which no guest runs)
   * for a later load with imports `key`, if it can be put back in its
   * initial state and the module keeps fewer than {@link IDLE_PER_MODULE}:
   * `false` if it was not kept. Returns the instances the process's budget
   * let go of to make room (see {@link IdleRegistry.admit}).
   */
  park(live: LiveModule, key: ImportsKey): { readonly kept: boolean; readonly evicted: LiveModule[] } {
    const initial = this.#initial;
    const bytes = live.memory?.buffer.byteLength ?? 0;
    // An instance that can be put back has the memory it started with, which `noteFresh` found within
    // the process's budget.
    if (
      initial == null ||
      live.capabilities.length > 0 ||
      this.#parked.length >= IDLE_PER_MODULE ||
      !canRestoreInPlace(live.instance, this.layout, initial)
    )
      return { kept: false, evicted: [] };
    // Growing by nothing replaces the memory's buffer: views made of it before read nothing.
    live.memory?.grow(0);
    const parked: Parked = { live, key, bytes, owner: this };
    this.#parked.push(parked);
    return { kept: true, evicted: this.registry.admit(parked) };
  }

  /** Lets go of `parked` (the process's budget, or a memory it needs, took it). */
  release(parked: Parked): void {
    const at = this.#parked.indexOf(parked);
    if (at >= 0) this.#parked.splice(at, 1);
  }

  /** Lets go of every idle instance (its module is no longer kept), and returns them. */
  drain(): LiveModule[] {
    const drained = this.#parked.splice(0);
    for (const parked of drained) this.registry.remove(parked);
    return drained.map((parked) => parked.live);
  }

  /**
   * An idle instance whose imports are bound as `key` says, put back in the
   * state its module's instances start in; `undefined` if none is kept.
   */
  take(key: ImportsKey): LiveModule | undefined {
    const initial = this.#initial;
    if (initial == null) return undefined;
    for (let i = this.#parked.length - 1; i >= 0; i--) {
      const parked = this.#parked[i] as Parked;
      if (!sameKey(parked.key, key)) continue;
      this.#parked.splice(i, 1);
      this.registry.remove(parked);
      // It could be restored in place when it was kept, and nothing has run on it since: this only
      // fails if the engine refuses to write a table, and the instance is then left to the collector.
      const { live } = parked;
      if (!applyState(live.instance, this.layout, initial, { written: live.written.now }).ok) continue;
      live.written.now = this.#initialWritten;
      return live;
    }
    return undefined;
  }
}
