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
 * and reach the new load's host context through a {@link ContextSlot}.
 */
import type { HostFunction } from '@ri-sandbox/core';
import {
  type InstanceImage,
  type MemoryImage,
  type StateLayout,
  applyState,
  canRestoreInPlace,
  captureState,
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

/** How much a sandbox factory keeps in idle instances, across its modules. */
export interface IdleBudget {
  /** Idle instances kept, in all. */
  count: number;
  /** Bytes of linear memory they hold, in all. */
  bytes: number;
}

/** At most this many idle instances per module. */
export const IDLE_PER_MODULE = 4;
/** At most this many idle instances per sandbox factory. */
export const IDLE_PER_FACTORY = 64;
/** At most this much linear memory in idle instances per sandbox factory (and none larger than it). */
export const IDLE_BYTES_PER_FACTORY = 16 << 20;
/**
 * A module whose instances start with more than this in memory (its data segments, in whole blocks)
 * has none kept: the copy of that initial state would be kept as long as the module.
 */
export const IDLE_INITIAL_BYTES = 1 << 20;

interface Parked {
  readonly live: LiveModule;
  readonly key: ImportsKey;
  readonly bytes: number;
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
  readonly #parked: Parked[] = [];

  constructor(
    private readonly layout: StateLayout,
    private readonly budget: IdleBudget,
  ) {}

  /** How many instances are kept. */
  get size(): number {
    return this.#parked.length;
  }

  /**
   * Records the state `instance` starts in, from the first instance of the
   * module (just instantiated: no guest code has run). A module whose state
   * cannot be captured (a host function in a table), whose memory is larger
   * than the budget or starts with more than {@link IDLE_INITIAL_BYTES} in it
   * has its instances never kept.
   */
  noteFresh(instance: WebAssembly.Instance, memory: WebAssembly.Memory | undefined): void {
    if (this.#initial !== undefined) return;
    if (memory !== undefined && memory.buffer.byteLength > IDLE_BYTES_PER_FACTORY) {
      this.#initial = null;
      return;
    }
    const captured = captureState(instance, this.layout);
    const initialBytes = captured.ok
      ? (captured.value.memory?.chunks.reduce((sum, chunk) => sum + chunk.bytes.length, 0) ?? 0)
      : Infinity;
    this.#initial = initialBytes <= IDLE_INITIAL_BYTES && captured.ok ? ownCopy(captured.value) : null;
  }

  /**
   * Keeps `live` (whose sandbox instance is gone, and on which no guest runs)
   * for a later load with imports `key`, if it can be put back in its
   * initial state and the budget allows: `false` if it was not kept.
   */
  park(live: LiveModule, key: ImportsKey): boolean {
    const initial = this.#initial;
    const bytes = live.memory?.buffer.byteLength ?? 0;
    const { budget } = this;
    if (
      initial == null ||
      live.capabilities.length > 0 ||
      this.#parked.length >= IDLE_PER_MODULE ||
      budget.count >= IDLE_PER_FACTORY ||
      budget.bytes + bytes > IDLE_BYTES_PER_FACTORY ||
      !canRestoreInPlace(live.instance, this.layout, initial)
    )
      return false;
    // Growing by nothing replaces the memory's buffer: views made of it before read nothing.
    live.memory?.grow(0);
    this.#parked.push({ live, key, bytes });
    budget.count += 1;
    budget.bytes += bytes;
    return true;
  }

  /** Lets go of every idle instance (its module is no longer kept), and returns them. */
  drain(): LiveModule[] {
    const drained = this.#parked.splice(0);
    for (const parked of drained) {
      this.budget.count -= 1;
      this.budget.bytes -= parked.bytes;
    }
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
      this.budget.count -= 1;
      this.budget.bytes -= parked.bytes;
      // It could be restored in place when it was kept, and nothing has run on it since: this only
      // fails if the engine refuses to write a table, and the instance is then left to the collector.
      if (applyState(parked.live.instance, this.layout, initial).ok) return parked.live;
    }
    return undefined;
  }
}
