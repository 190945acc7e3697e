/**
 * Code a transform inserts into a body, collected by offset while it scans
 * and applied in one copy: several transforms' insertions into the same body
 * merge into one output, so a body is copied once however many add to it.
 * The transforms ride along one pass (see {@link BodyRider}): another one's
 * (metering's) or their own ({@link applyRiders}).
 */
import { ByteWriter } from './bytes';
import type { FunctionBody, LocalGroup } from './types';
import { type InstructionVisitor, walkBody } from './walk';

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

  /** Where insertion `i`'s bytes start and end among all of theirs. */
  start(i: number): number {
    return this.starts[i] as number;
  }

  end(i: number): number {
    return this.starts[i + 1] ?? this.bytes.size;
  }

  /**
   * Writes insertion `i`'s bytes to `w`. (Copied from the list's own buffer:
   * a view of it would make V8 move a small buffer off its heap first.)
   */
  writeTo(w: ByteWriter, i: number): void {
    w.rangeOf(this.bytes, this.start(i), this.end(i));
  }
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

/** What a {@link BodyRider} inserts, by offset in the original body (each kind optional). */
export interface RiderInsertions {
  /** Code at the very start of the body, before anything the host pass adds there. */
  readonly entry?: Uint8Array | undefined;
  /** Code that finishes the instruction before its offset: before what the host pass adds at that offset. */
  readonly trailing?: Insertions | undefined;
  /**
   * Code that leads into the instruction at its offset (so before the body's end): right before it, after
   * what the host pass adds.
   */
  readonly leading?: Insertions | undefined;
  /** The locals it appends. */
  readonly locals?: readonly LocalGroup[] | undefined;
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
  /** Where the next trailing and leading insertions go (Infinity when none is left): most copies pass none. */
  private trailingAt: number;
  private leadingAt: number;

  constructor(
    private readonly code: Uint8Array,
    private readonly w: ByteWriter,
    riders: readonly RiderInsertions[],
  ) {
    this.trailing = [];
    this.leading = [];
    for (const rider of riders) {
      addCursor(this.trailing, rider.trailing);
      addCursor(this.leading, rider.leading);
      if (rider.entry !== undefined) w.bytes(rider.entry);
    }
    this.trailingAt = earliest(this.trailing);
    this.leadingAt = earliest(this.leading);
  }

  /** Copies the original up to `offset`, with the insertions before it, and the trailing ones at it. */
  copyTo(offset: number): void {
    while (this.trailingAt <= offset || this.leadingAt <= offset - 1) {
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
      this.emit(cursor);
    }
    this.copyOriginal(offset);
  }

  /** Writes the leading insertions at `offset` (where the host pass replaces the instruction). */
  lead(offset: number): void {
    this.copyTo(offset);
    for (let cursor = next(this.leading, offset); cursor !== undefined; cursor = next(this.leading, offset))
      this.emit(cursor);
  }

  /** Moves past original bytes the host pass replaced, up to `offset`. */
  skipTo(offset: number): void {
    this.copied = offset;
  }

  /** Writes `cursor`'s next insertion, and notes where the next ones go. */
  private emit(cursor: Cursor): void {
    cursor.emit(this.w);
    this.trailingAt = earliest(this.trailing);
    this.leadingAt = earliest(this.leading);
  }

  private copyOriginal(offset: number): void {
    if (offset > this.copied) this.w.range(this.code, this.copied, offset);
    this.copied = Math.max(this.copied, offset);
  }
}

/**
 * What `riders` insert once their scans have seen the body, each given the
 * index of its first appended local, in order from `firstLocal`. Each comes
 * back with all four fields, in one order: riders return objects of their
 * own shapes, and the passes that read them for every body would otherwise
 * see several (in V8, code optimised for some of them is thrown away when
 * another turns up).
 */
export function finishRiders(riders: readonly BodyRider[], firstLocal: number): RiderInsertions[] {
  let next = firstLocal;
  const finished: RiderInsertions[] = [];
  for (const rider of riders) {
    const { entry, trailing, leading, locals } = rider.finish(next);
    if (locals !== undefined) for (const group of locals) next += group.count;
    finished.push({ entry, trailing, leading, locals });
  }
  return finished;
}

/**
 * `body` with `riders` applied on their own (no other pass): their scans
 * walk it once, and their code and locals go in with one copy; `body` itself
 * when they insert nothing. `firstLocal` is the index of the first local
 * they append. Throws `WasmDecodeError` on a malformed body.
 */
export function applyRiders(
  body: FunctionBody,
  firstLocal: number,
  riders: readonly BodyRider[],
): FunctionBody {
  walkBody(
    body.code,
    riders.map((rider) => rider.scan),
  );
  const inserted = finishRiders(riders, firstLocal);
  const size = inserted.reduce(
    (sum, r) => sum + (r.entry?.length ?? 0) + (r.trailing?.size ?? 0) + (r.leading?.size ?? 0),
    body.code.length,
  );
  const locals = inserted.flatMap((r) => r.locals ?? []);
  if (size === body.code.length && locals.length === 0) return body;
  const w = new ByteWriter(size);
  new Splicer(body.code, w, inserted).copyTo(body.code.length);
  return { locals: [...body.locals, ...locals], code: w.finish() };
}

/** Adds a cursor over `list` to `cursors` if it inserts anything. */
function addCursor(cursors: Cursor[], list: Insertions | undefined): void {
  if (list !== undefined && list.count > 0) cursors.push(new Cursor(list));
}

/** The position in one list of insertions. */
class Cursor {
  private i = 0;

  constructor(private readonly list: Insertions) {}

  /** The offset of the next insertion, or Infinity. */
  get at(): number {
    return this.i < this.list.count ? this.list.offset(this.i) : Infinity;
  }

  emit(w: ByteWriter): void {
    this.list.writeTo(w, this.i);
    this.i++;
  }
}

/** Where the earliest next insertion of `cursors` goes (Infinity when none is left). */
function earliest(cursors: readonly Cursor[]): number {
  let at = Infinity;
  for (const cursor of cursors) at = Math.min(at, cursor.at);
  return at;
}

/** The first of `cursors` whose next insertion is at or before `limit` (the earliest, the first list on a tie). */
function next(cursors: readonly Cursor[], limit: number): Cursor | undefined {
  let chosen: Cursor | undefined;
  for (const cursor of cursors)
    if (cursor.at <= limit && (chosen === undefined || cursor.at < chosen.at)) chosen = cursor;
  return chosen;
}
