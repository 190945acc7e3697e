/**
 * Code a transform inserts into a body, collected by offset while it scans
 * and applied in one copy: several transforms' insertions into the same body
 * merge into one output, so a body is copied once however many add to it.
 */
import { ByteWriter } from './bytes';

/** Byte strings to insert into a body at non-decreasing offsets. */
export class Insertions {
  /** Where each insertion goes in the body, and where its bytes start in {@link bytes}. */
  private readonly offsets: number[] = [];
  private readonly starts: number[] = [];
  /** Every insertion's bytes, back to back. */
  private readonly bytes = new ByteWriter(64);

  /** How many insertions there are. */
  get count(): number {
    return this.offsets.length;
  }

  /** How many bytes they insert in all. */
  get size(): number {
    return this.bytes.size;
  }

  /**
   * Starts an insertion before the body's byte `offset` (no smaller than the
   * last one's), and returns the writer its bytes go to until the next `at`.
   */
  at(offset: number): ByteWriter {
    const last = this.offsets[this.offsets.length - 1];
    if (last !== undefined && offset < last)
      throw new RangeError(`insertion at ${offset} after one at ${last}`);
    this.offsets.push(offset);
    this.starts.push(this.bytes.size);
    return this.bytes;
  }

  /** Where insertion `i` goes in the body. */
  offset(i: number): number {
    return this.offsets[i] as number;
  }

  /** Where insertion `i`'s bytes start and end in {@link source}. */
  start(i: number): number {
    return this.starts[i] as number;
  }

  end(i: number): number {
    return this.starts[i + 1] ?? this.bytes.size;
  }

  /** Every insertion's bytes, back to back (a view: valid until the next {@link at}). */
  source(): Uint8Array {
    return this.bytes.view();
  }
}

/** Copies `source[start, end)` to `out` at `at` (short ranges byte by byte: a view per range costs more). */
function copy(out: Uint8Array, at: number, source: Uint8Array, start: number, end: number): void {
  if (end - start < 64) {
    for (let i = start, o = at; i < end; i++, o++) out[o] = source[i] as number;
  } else {
    out.set(source.subarray(start, end), at);
  }
}

/**
 * `code` with every insertion of `lists` in place, in one new array. At the
 * same offset, the insertions of an earlier list go first.
 */
export function applyInsertions(code: Uint8Array, lists: readonly Insertions[]): Uint8Array<ArrayBuffer> {
  const used = lists.filter((list) => list.count > 0);
  const out = new Uint8Array(used.reduce((sum, list) => sum + list.size, code.length));
  const sources = used.map((list) => list.source());
  const next = used.map(() => 0);
  let copied = 0;
  let at = 0;
  for (;;) {
    // The list whose next insertion comes first (the earliest list on a tie).
    let chosen = -1;
    let offset = Infinity;
    for (let l = 0; l < used.length; l++) {
      const list = used[l] as Insertions;
      const i = next[l] as number;
      if (i < list.count && list.offset(i) < offset) {
        offset = list.offset(i);
        chosen = l;
      }
    }
    if (chosen < 0) break;
    copy(out, at, code, copied, offset);
    at += offset - copied;
    copied = offset;
    const list = used[chosen] as Insertions;
    const i = next[chosen] as number;
    const start = list.start(i);
    const end = list.end(i);
    copy(out, at, sources[chosen] as Uint8Array, start, end);
    at += end - start;
    next[chosen] = i + 1;
  }
  copy(out, at, code, copied, code.length);
  return out;
}
