/**
 * Where instantiation writes a module's memory: the ranges of its active data
 * segments. A memory that was all zeros before holds zeros everywhere else, so
 * a capture of an instance no code has run in yet need read only those (see
 * `CaptureOptions.written`).
 */
import type { DataSegment, WasmModule } from '@ri-sandbox/core';
import type { MemoryRange } from './capture';

/** The offset an active segment's expression gives, if it is a constant (not a `global.get`). */
function constantOffset(segment: DataSegment): number | undefined {
  const [only, ...rest] = segment.offset ?? [];
  // (32-bit memories only: the codec refuses 64-bit ones.)
  return only?.op.name === 'i32.const' && rest.length === 0 ? (only.immediate as number) >>> 0 : undefined;
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
  const ranges: MemoryRange[] = [];
  for (const segment of module.data) {
    if (segment.mode !== 'active' || segment.memory !== 0) continue;
    const start = constantOffset(segment);
    if (start === undefined) return undefined;
    ranges.push({ start, end: start + segment.bytes.length });
  }
  return ranges;
}
