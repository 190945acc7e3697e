/**
 * Reading an instance's state through the exports `exposeState` added, and
 * writing it back into a fresh instance of the same module.
 */
import {
  type Result,
  type SnapshotError,
  WASM_PAGE_BYTES,
  err,
  ok,
  sandboxError,
  thrownReason,
} from '@ri-sandbox/core';
import { type GlobalAccess, type StateLayout, callable, exported, memoryOf } from './layout';
import {
  type InstanceImage,
  MEMORY_BLOCK_BYTES,
  type MemoryChunk,
  type MemoryImage,
  type SavedGlobal,
  type SavedTable,
  type SavedValue,
} from './state';
import { type KnownMemory, type MemoryRange, blockRuns } from './written';
import { KERNEL_FROM_BYTES, type NextBlock, scanInScript, scanMemory } from './zero-blocks';

/** The longest chunk, so that every length fits the format's u32. */
const MAX_CHUNK_BYTES = 1 << 30;

/** Thrown inside capture for state that cannot be represented; becomes `SNAPSHOT_ERROR`. */
class Uncapturable extends Error {}

type Exports = WebAssembly.Exports;

/** Function objects of the functions a reference can name, by function index, and the reverse. */
function functionIndex(exports: Exports, layout: StateLayout): Map<unknown, number> {
  return new Map(layout.functions.map((f) => [exports[f.exportName], f.index]));
}

function readGlobal(exports: Exports, g: GlobalAccess, functions: () => Map<unknown, number>): SavedValue {
  if (g.access.kind === 'accessors') {
    const bits = callable(exports, g.access.getter)();
    if (g.type === 'f32') return { type: 'f32', bits: (bits as number) >>> 0 };
    if (g.type === 'f64') return { type: 'f64', bits: BigInt.asUintN(64, bits as bigint) };
    const [low, high] = bits as [bigint, bigint];
    return { type: 'v128', low: BigInt.asUintN(64, low), high: BigInt.asUintN(64, high) };
  }
  const value: unknown = exported(exports, g.access.exportName, WebAssembly.Global).value;
  switch (g.type) {
    case 'i32':
      return { type: 'i32', value: value as number };
    case 'i64':
      return { type: 'i64', value: value as bigint };
    default:
      return reference(g.type, value, `global ${g.index}`, functions);
  }
}

function reference(
  type: SavedValue['type'],
  value: unknown,
  where: string,
  functions: () => Map<unknown, number>,
): SavedValue {
  if (type === 'funcref') {
    if (value === null) return { type, function: null };
    const index = functions().get(value);
    if (index === undefined) throw new Uncapturable(`${where} holds a function the module cannot name`);
    return { type, function: index };
  }
  if (value !== null && value !== undefined)
    throw new Uncapturable(`${where} holds a host reference, which a snapshot cannot capture`);
  return { type: 'externref' };
}

/**
 * The runs of blocks `next` finds not zero in `bytes` among blocks `from` to `to` (exclusive), added
 * to `chunks` as views (not copies), none longer than a chunk may be.
 */
function addChunks(
  chunks: MemoryChunk[],
  bytes: Uint8Array<ArrayBuffer>,
  next: NextBlock,
  from: number,
  to: number,
): void {
  for (let first = next(from, to, false); first < to;) {
    const end = next(first + 1, to, true);
    const last = Math.min(end * MEMORY_BLOCK_BYTES, bytes.length);
    for (let at = first * MEMORY_BLOCK_BYTES; at < last; at += MAX_CHUNK_BYTES)
      chunks.push({ offset: at, bytes: bytes.subarray(at, Math.min(last, at + MAX_CHUNK_BYTES)) });
    first = end < to ? next(end + 1, to, false) : to;
  }
}

/** The runs of blocks `next` finds not zero in `bytes`, as views (not copies), none longer than a chunk may be. */
function chunksOf(bytes: Uint8Array<ArrayBuffer>, next: NextBlock): MemoryChunk[] {
  const chunks: MemoryChunk[] = [];
  addChunks(chunks, bytes, next, 0, Math.ceil(bytes.length / MEMORY_BLOCK_BYTES));
  return chunks;
}

/** The non-zero runs of `bytes`, in whole blocks, as views (not copies). */
export function nonZeroChunks(bytes: Uint8Array<ArrayBuffer>): MemoryChunk[] {
  return chunksOf(bytes, scanInScript(bytes));
}

/**
 * The non-zero runs of `memory`'s blocks, as views, reading only the blocks `written` touches when it
 * is given (the rest is known to be zero): the chunks a scan of the whole memory finds, without
 * reading megabytes of zeros (which a memory no one has written to yet faults in, page by page).
 */
function memoryChunks(
  memory: WebAssembly.Memory,
  written: readonly MemoryRange[] | undefined,
): MemoryChunk[] {
  const bytes = new Uint8Array(memory.buffer);
  if (written === undefined) return chunksOf(bytes, scanMemory(memory));
  const runs = blockRuns(written, Math.ceil(bytes.length / MEMORY_BLOCK_BYTES));
  const read = runs.reduce((sum, [from, to]) => sum + (to - from) * MEMORY_BLOCK_BYTES, 0);
  const next = read >= KERNEL_FROM_BYTES ? scanMemory(memory) : scanInScript(bytes);
  const chunks: MemoryChunk[] = [];
  for (const [from, to] of runs) addChunks(chunks, bytes, next, from, to);
  return chunks;
}

/**
 * Captures the state of `instance` (a module rewritten by `exposeState`,
 * described by `layout`), its linear memory included. Memory chunks are
 * views of the live memory: encode them before the guest runs again.
 * `SNAPSHOT_ERROR` if some state cannot be represented (a host reference).
 * `known.written`: where the memory may hold something other than zeros, if
 * that is known (see {@link KnownMemory}); only the blocks there are read.
 */
export function captureState(
  instance: WebAssembly.Instance,
  layout: StateLayout,
  known: KnownMemory = {},
): Result<InstanceImage, SnapshotError> {
  const { exports } = instance;
  let names: Map<unknown, number> | undefined;
  const functions = () => (names ??= functionIndex(exports, layout));
  try {
    const memory = memoryOf(instance, layout);
    const globals: SavedGlobal[] = layout.globals.map((g) => ({
      index: g.index,
      value: readGlobal(exports, g, functions),
    }));
    const tables: SavedTable[] = layout.tables.map((t) => {
      const table = exported(exports, t.exportName, WebAssembly.Table);
      const elements = new Int32Array(table.length);
      for (let i = 0; i < elements.length; i++) {
        const saved = reference(t.elementType, table.get(i), `table ${t.index} slot ${i}`, functions);
        elements[i] = saved.type === 'funcref' ? (saved.function ?? -1) : -1;
      }
      return { index: t.index, elements };
    });
    let image: MemoryImage | undefined;
    if (memory !== undefined)
      image = {
        pages: memory.buffer.byteLength / WASM_PAGE_BYTES,
        chunks: memoryChunks(memory, known.written),
      };
    return ok({ globals, tables, memory: image });
  } catch (error) {
    if (error instanceof Uncapturable) return err(sandboxError.snapshotError(error.message));
    // A missing or mistyped export: the instance is not of the module `layout` describes.
    const reason = thrownReason(error);
    return err(sandboxError.snapshotError(`the instance does not match the layout: ${reason}`));
  }
}
