/**
 * What a snapshot holds, as plain data: the instance's mutable globals,
 * its run-time-mutable tables, its linear memory, and the embedder's own
 * state as opaque bytes, bound to one module and configuration.
 */

/** The value of one mutable global, bit-exact (floats as their bit patterns). */
export type SavedValue =
  | { readonly type: 'i32'; readonly value: number }
  | { readonly type: 'i64'; readonly value: bigint }
  | { readonly type: 'f32'; readonly bits: number }
  | { readonly type: 'f64'; readonly bits: bigint }
  | { readonly type: 'v128'; readonly low: bigint; readonly high: bigint }
  /** A function reference as the module's function index, or `null`. */
  | { readonly type: 'funcref'; readonly function: number | null }
  /** Only the null host reference can be captured. */
  | { readonly type: 'externref' };

/** One mutable global, by its index in the module's global index space. */
export interface SavedGlobal {
  readonly index: number;
  readonly value: SavedValue;
}

/** The elements of one funcref table: a function index per slot, -1 for null. */
export interface SavedTable {
  readonly index: number;
  readonly elements: Int32Array;
}

/** Size of the blocks memory is stored in; a block of zeros costs nothing. */
export const MEMORY_BLOCK_BYTES = 4096;

/** A run of non-zero memory: `bytes` belong at byte `offset` (a multiple of {@link MEMORY_BLOCK_BYTES}). */
export interface MemoryChunk {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** Linear memory: its size in pages, and the chunks that are not zero (everything else is). */
export interface MemoryImage {
  readonly pages: number;
  readonly chunks: readonly MemoryChunk[];
}

/** What an instance's state is bound to: hashes of the original module and of the config that shapes it. */
export interface SnapshotBinding {
  /** SHA-256 of the module's original bytes (32 bytes). */
  readonly moduleHash: Uint8Array;
  /** SHA-256 of the configuration the instrumented module depends on (32 bytes). */
  readonly configHash: Uint8Array;
}

/** The state of a WebAssembly instance, as it was captured. */
export interface InstanceImage {
  readonly globals: readonly SavedGlobal[];
  readonly tables: readonly SavedTable[];
  /** `undefined` for a module without memory. */
  readonly memory: MemoryImage | undefined;
}

/** Everything a snapshot holds. */
export interface SnapshotContents extends InstanceImage {
  readonly binding: SnapshotBinding;
  /** The embedder's own state (the sandbox's PRNG, clock and gas), opaque to this package. */
  readonly host: Uint8Array;
  /**
   * The state of the embedder's capabilities (WASI, say), each under its own
   * name, opaque to this package; absent from version 1 snapshots.
   */
  readonly extensions?: ReadonlyMap<string, Uint8Array> | undefined;
}
