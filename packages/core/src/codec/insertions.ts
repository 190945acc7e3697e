/**
 * Code a transform inserts into a body, collected by offset while it scans
 * and applied in one copy: several transforms' insertions into the same body
 * merge into one output, so a body is copied once however many add to it.
 */
import { ByteWriter } from './bytes';
import type { LocalGroup } from './types';
import type { InstructionVisitor } from './walk';

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

/**
 * What a transform adds to a body while another pass (metering) walks and
 * rewrites it: the transform's scan sees each instruction of the original
 * body during that pass's walk, and its insertions are written with that
 * pass's output, so the body is walked and copied once for both.
 */
export interface BodyRider {
  /** The transform's scan, shown every instruction of the original body. */
  readonly scan: InstructionVisitor;
  /** After the walk: what the transform inserts, given the index its first appended local gets. */
  finish(firstLocal: number): RiderInsertions;
}

/** What a {@link BodyRider} inserts, by offset in the original body. */
export interface RiderInsertions {
  /** Code at the very start of the body, before anything the host pass adds there. */
  readonly entry: Uint8Array;
  /** Code that finishes the instruction before its offset: before what the host pass adds at that offset. */
  readonly trailing: Insertions;
  /**
   * Code that leads into the instruction at its offset (so before the body's end): right before it, after
   * what the host pass adds.
   */
  readonly leading: Insertions;
  /** The locals it appends. */
  readonly locals: readonly LocalGroup[];
}

/**
 * Copies a body into a writer while splicing in riders' insertions (see
 * {@link RiderInsertions}): the host pass copies with {@link copyTo}, writes
 * its own code at the offset it copied to, calls {@link lead} before writing
 * an instruction of its own in place of the original, and {@link skipTo}
 * past the original it replaced.
 */
export class Splicer {
  private copied = 0;
  private readonly trailing: Cursor[];
  private readonly leading: Cursor[];

  constructor(
    private readonly code: Uint8Array,
    private readonly w: ByteWriter,
    riders: readonly RiderInsertions[],
  ) {
    this.trailing = riders.filter((r) => r.trailing.count > 0).map((r) => new Cursor(r.trailing));
    this.leading = riders.filter((r) => r.leading.count > 0).map((r) => new Cursor(r.leading));
    for (const rider of riders) w.bytes(rider.entry);
  }

  /** Copies the original up to `offset`, with the insertions before it, and the trailing ones at it. */
  copyTo(offset: number): void {
    for (;;) {
      const trailing = next(this.trailing, offset);
      const leading = next(this.leading, offset - 1);
      // At the same offset, trailing code comes first: it belongs to the instruction before.
      const cursor =
        trailing === undefined
          ? leading
          : leading === undefined || trailing.at <= leading.at
            ? trailing
            : leading;
      if (cursor === undefined) break;
      this.copyOriginal(cursor.at);
      cursor.emit(this.w);
    }
    this.copyOriginal(offset);
  }

  /** Writes the leading insertions at `offset` (where the host pass replaces the instruction). */
  lead(offset: number): void {
    this.copyTo(offset);
    for (let cursor = next(this.leading, offset); cursor !== undefined; cursor = next(this.leading, offset))
      cursor.emit(this.w);
  }

  /** Moves past original bytes the host pass replaced, up to `offset`. */
  skipTo(offset: number): void {
    this.copied = offset;
  }

  private copyOriginal(offset: number): void {
    if (offset > this.copied) this.w.range(this.code, this.copied, offset);
    this.copied = Math.max(this.copied, offset);
  }
}

/** The position in one list of insertions. */
class Cursor {
  private i = 0;
  private readonly source: Uint8Array;

  constructor(private readonly list: Insertions) {
    this.source = list.source();
  }

  /** The offset of the next insertion, or Infinity. */
  get at(): number {
    return this.i < this.list.count ? this.list.offset(this.i) : Infinity;
  }

  emit(w: ByteWriter): void {
    w.range(this.source, this.list.start(this.i), this.list.end(this.i));
    this.i++;
  }
}

/** The first of `cursors` whose next insertion is at or before `limit` (the earliest, the first list on a tie). */
function next(cursors: readonly Cursor[], limit: number): Cursor | undefined {
  let chosen: Cursor | undefined;
  for (const cursor of cursors)
    if (cursor.at <= limit && (chosen === undefined || cursor.at < chosen.at)) chosen = cursor;
  return chosen;
}
