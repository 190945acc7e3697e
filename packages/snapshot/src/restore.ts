/**
 * Writing a captured state into a fresh instance: first every check, then the
 * writes, so that a state that does not fit is refused before anything changes.
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
import { type StateLayout, callable, exported, memoryOf } from './layout';
import { type InstanceImage, MEMORY_BLOCK_BYTES, type SavedValue } from './state';
import { type KnownMemory, type MemoryRange, blockRuns } from './written';

/** The memory an instance of the module has: pages at instantiation and the most it may grow to. */
export interface MemoryBounds {
  readonly initialPages: number;
  readonly maximumPages: number;
}

function valueFits(value: SavedValue, type: SavedValue['type'], functions: ReadonlySet<number>): boolean {
  if (value.type !== type) return false;
  return value.type !== 'funcref' || value.function === null || functions.has(value.function);
}

/**
 * Why `image` cannot be restored into an instance of the module `layout`
 * describes, with memory `bounds` (`undefined` for a module without memory),
 * or `undefined` if it can.
 */
export function checkState(
  layout: StateLayout,
  image: InstanceImage,
  bounds: MemoryBounds | undefined,
): string | undefined {
  const functions = new Set(layout.functions.map((f) => f.index));
  if (image.globals.length !== layout.globals.length)
    return `it has ${image.globals.length} mutable globals, the module has ${layout.globals.length}`;
  for (const [i, g] of layout.globals.entries()) {
    const saved = image.globals[i];
    if (saved?.index !== g.index || !valueFits(saved.value, g.type, functions))
      return `global ${g.index} (${g.type}) does not match the module's`;
  }
  if (image.tables.length !== layout.tables.length)
    return `it has ${image.tables.length} tables, the module can change ${layout.tables.length}`;
  for (const [i, t] of layout.tables.entries()) {
    const saved = image.tables[i];
    if (saved?.index !== t.index) return `table ${t.index} is missing`;
    const size = saved.elements.length;
    if (size < t.minimum || (t.maximum !== undefined && size > t.maximum))
      return `table ${t.index} has ${size} elements, outside the module's limits`;
    const nameable = t.elementType === 'funcref' ? functions : new Set<number>();
    if (saved.elements.some((f) => f !== -1 && !nameable.has(f)))
      return `table ${t.index} refers to a function the module cannot name`;
  }
  if ((image.memory === undefined) !== (bounds === undefined))
    return image.memory === undefined
      ? 'it has no memory, the module has one'
      : 'it has a memory, the module has none';
  if (image.memory !== undefined && bounds !== undefined) {
    const { pages } = image.memory;
    if (pages < bounds.initialPages || pages > bounds.maximumPages)
      return `its memory of ${pages} pages is outside what this instance can take (${bounds.initialPages} to ${bounds.maximumPages} pages)`;
  }
  return undefined;
}

/**
 * A function that zeroes bytes `from` to `to` of `bytes` where they may not be zero: below `size`
 * (memory the instance had before a growth), and inside `written` when it is given.
 */
function zeroer(
  bytes: Uint8Array,
  size: number,
  written: readonly MemoryRange[] | undefined,
): (from: number, to: number) => void {
  if (written === undefined) return (from, to) => void bytes.fill(0, from, Math.min(to, size));
  const runs = blockRuns(written, Math.ceil(size / MEMORY_BLOCK_BYTES));
  // Spans come in ascending order (as chunks are captured and decoded): the runs before the current
  // one are done with. A span before the last starts over.
  let run = 0;
  let last = 0;
  return (from, to) => {
    if (from < last) run = 0;
    last = to;
    for (; run < runs.length; run++) {
      const [first, end] = runs[run] as [number, number];
      const start = Math.max(from, first * MEMORY_BLOCK_BYTES);
      const stop = Math.min(to, end * MEMORY_BLOCK_BYTES, size);
      if (start < stop) bytes.fill(0, start, stop);
      if (end * MEMORY_BLOCK_BYTES > to) return;
    }
  };
}

function writeMemory(
  memory: WebAssembly.Memory,
  image: NonNullable<InstanceImage['memory']>,
  written: readonly MemoryRange[] | undefined,
): void {
  const before = memory.buffer.byteLength;
  if (image.pages * WASM_PAGE_BYTES > before) memory.grow(image.pages - before / WASM_PAGE_BYTES);
  const bytes = new Uint8Array(memory.buffer);
  // Memory past the size before is zero already; below it, whatever ran may have written.
  const clear = zeroer(bytes, before, written);
  let cleared = 0;
  for (const chunk of image.chunks) {
    if (chunk.offset > cleared) clear(cleared, chunk.offset);
    bytes.set(chunk.bytes, chunk.offset);
    cleared = chunk.offset + chunk.bytes.length;
  }
  if (cleared < before) clear(cleared, before);
}

/**
 * Whether `image` can be written into `instance` as it is, rather than into a
 * fresh instance: only when that gives exactly the captured state, that is
 * when the memory is no larger than the captured one (it can grow, never
 * shrink), every captured table already has the captured size, and no
 * segment the image has kept was dropped. Restoring in place then fails, if
 * at all, only where the engine refuses to grow the memory, the first step of
 * {@link applyState}, which leaves the instance as it was.
 */
export function canRestoreInPlace(
  instance: WebAssembly.Instance,
  layout: StateLayout,
  image: InstanceImage,
): boolean {
  const { exports } = instance;
  const memory = layout.memory === undefined ? undefined : exports[layout.memory];
  const bytes = memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : 0;
  if (layout.memory !== undefined && !(memory instanceof WebAssembly.Memory)) return false;
  // A memory can grow to the image's size (the first thing applyState does, so a refusal changes
  // nothing); it cannot shrink.
  if (bytes > (image.memory?.pages ?? 0) * WASM_PAGE_BYTES) return false;
  const tablesFit = layout.tables.every((t, i) => {
    const table = exports[t.exportName];
    return table instanceof WebAssembly.Table && table.length === image.tables[i]?.elements.length;
  });
  const dropsFit = layout.dropFlags.every((flag) => {
    const position = layout.globals.findIndex((g) => g.index === flag);
    const access = layout.globals[position]?.access;
    const global = access?.kind === 'global' ? exports[access.exportName] : undefined;
    const saved = image.globals[position]?.value;
    return (
      global instanceof WebAssembly.Global &&
      (global.value === 0 || (saved?.type === 'i32' && saved.value !== 0))
    );
  });
  return tablesFit && dropsFit;
}

/**
 * Writes `image` into `instance`, a fresh instance of the module `layout`
 * describes (or one for which {@link canRestoreInPlace} holds), and its `memory`. Check the image with {@link checkState} first;
 * what is left to fail (the engine refusing to grow a memory or table) is
 * returned as `SNAPSHOT_ERROR`, and the instance should then be discarded.
 * `known.written`: where the memory may hold something other than zeros, if
 * that is known (see {@link KnownMemory}); only there is it cleared.
 */
export function applyState(
  instance: WebAssembly.Instance,
  layout: StateLayout,
  image: InstanceImage,
  known: KnownMemory = {},
): Result<void, SnapshotError> {
  const { exports } = instance;
  const functionByIndex = new Map(layout.functions.map((f) => [f.index, exports[f.exportName]]));
  const fn = (index: number | null) => (index === null || index === -1 ? null : functionByIndex.get(index));
  try {
    const memory = memoryOf(instance, layout);
    if (memory !== undefined && image.memory !== undefined) writeMemory(memory, image.memory, known.written);
    for (const [i, t] of layout.tables.entries()) {
      const table = exported(exports, t.exportName, WebAssembly.Table);
      const elements = (image.tables[i] as InstanceImage['tables'][number]).elements;
      if (elements.length > table.length) table.grow(elements.length - table.length, null);
      for (let e = 0; e < elements.length; e++) table.set(e, fn(elements[e] as number));
    }
    for (const [i, g] of layout.globals.entries()) {
      const value = (image.globals[i] as InstanceImage['globals'][number]).value;
      if (g.access.kind === 'accessors') {
        const set = callable(exports, g.access.setter);
        if (value.type === 'f32') set(value.bits | 0);
        else if (value.type === 'f64') set(BigInt.asIntN(64, value.bits));
        else if (value.type === 'v128') set(BigInt.asIntN(64, value.low), BigInt.asIntN(64, value.high));
        continue;
      }
      const global = exported(exports, g.access.exportName, WebAssembly.Global);
      if (value.type === 'i32' || value.type === 'i64') global.value = value.value;
      else if (value.type === 'funcref') global.value = fn(value.function);
      else global.value = null;
    }
    if (layout.redrop !== undefined) callable(exports, layout.redrop)();
  } catch (error) {
    return err(sandboxError.snapshotError(`the instance refused the restored state: ${thrownReason(error)}`));
  }
  return ok(undefined);
}
