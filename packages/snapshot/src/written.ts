/**
 * Where an instance's memory may hold something other than zeros, when that
 * is known: an instance just made on a zeroed memory holds zeros outside what
 * its active data segments wrote, and one a state was just applied to outside
 * that state's chunks. Capturing such an instance need read only there, and
 * applying a state to it need clear only there, instead of touching every page
 * of a memory most of which no one has written (the system maps each page in
 * as it is first read or written).
 */
import { type WasmModule, forEachDataSegment } from '@ri-sandbox/core';
import { type InstanceImage, MEMORY_BLOCK_BYTES } from './state';

/** Bytes `start` to `end` (exclusive) of a linear memory. */
export interface MemoryRange {
  readonly start: number;
  readonly end: number;
}

/** What is known of an instance's memory, for `captureState` and `applyState`. */
export interface KnownMemory {
  /**
   * Where the memory may hold something other than zeros: for an instance
   * just made on a zeroed memory, the ranges its data segments wrote (see
   * {@link dataSegmentRanges}); for one a state was just applied to, that
   * state's chunks (see {@link chunkRanges}). A list that leaves out a byte
   * that is not zero makes a capture miss it and a state applied keep it.
   * Default: anywhere.
   */
  readonly written?: readonly MemoryRange[] | undefined;
}

/**
 * The bytes of memory 0 that `module`'s active data segments write when it is
 * instantiated, one range per segment (in segment order; they may overlap);
 * `undefined` if an offset is not a constant (an imported global's value, say),
 * so that where they write is known only once instantiated.
 *
 * @example
 * ```ts
 * const written = dataSegmentRanges(decodeModule(bytes));
 * const image = captureState(instance, layout, { written });
 * ```
 */
export function dataSegmentRanges(module: WasmModule): MemoryRange[] | undefined {
  let ranges: MemoryRange[] | undefined = [];
  forEachDataSegment(module, (mode, memory, start, length) => {
    if (mode !== 'active' || memory !== 0) return;
    if (start === undefined) ranges = undefined;
    else ranges?.push({ start, end: start + length });
  });
  return ranges;
}

/**
 * The bytes `image`'s memory chunks cover: where a memory it was just applied to may hold something
 * other than zeros (none for an image without memory).
 */
export function chunkRanges(image: InstanceImage): MemoryRange[] {
  return (image.memory?.chunks ?? []).map((chunk) => ({
    start: chunk.offset,
    end: chunk.offset + chunk.bytes.length,
  }));
}

/**
 * The blocks of a memory of `blocks` blocks that `ranges` touch, as sorted runs `[from, to)` that
 * neither overlap nor meet (so that a run of non-zero blocks never spans two of them).
 */
export function blockRuns(ranges: readonly MemoryRange[], blocks: number): [number, number][] {
  const touched = ranges
    .filter((range) => range.end > range.start)
    .map((range): [number, number] => [
      Math.min(blocks, Math.floor(range.start / MEMORY_BLOCK_BYTES)),
      Math.min(blocks, Math.ceil(range.end / MEMORY_BLOCK_BYTES)),
    ])
    .sort((a, b) => a[0] - b[0]);
  const runs: [number, number][] = [];
  for (const [from, to] of touched) {
    const last = runs.at(-1);
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to);
    else if (to > from) runs.push([from, to]);
  }
  return runs;
}
