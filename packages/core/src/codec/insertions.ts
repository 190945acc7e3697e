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
  /**
   * Where each insertion goes in the body, and where its bytes start in {@link bytes}: the first
   * {@link count} of each (a list used again keeps its arrays, which emptying them would free).
   */
  private readonly offsets: number[] = [];
  private readonly starts: number[] = [];
  private n = 0;
  /** Every insertion's bytes, back to back. */
  private readonly bytes = new ByteWriter(64);

  /** Forgets every insertion, keeping the storage: a list used again for the next body. */
  clear(): this {
    this.n = 0;
    this.bytes.reset();
    return this;
  }

  /** How many insertions there are. */
  get count(): number {
    return this.n;
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
    const n = this.n;
    if (n > 0 && offset < (this.offsets[n - 1] as number))
      throw new RangeError(`insertion at ${offset} after one at ${this.offsets[n - 1]}`);
    this.offsets[n] = offset;
    this.starts[n] = this.bytes.size;
    this.n = n + 1;
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
    return i + 1 < this.n ? (this.starts[i + 1] as number) : this.bytes.size;
  }

  /** Copies every insertion's bytes, back to back (insertion `i`'s from {@link start}), into `target` at `at`. */
  copyInto(target: Uint8Array, at: number): void {
    this.bytes.copyInto(target, at);
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
  private code: Uint8Array;
  private w: ByteWriter;
  private copied = 0;
  /** The cursors over the current body's lists: the first {@link trailingCount} and {@link leadingCount}. */
  private readonly trailing: Cursor[] = [];
  private readonly leading: Cursor[] = [];
  private trailingCount = 0;
  private leadingCount = 0;
  /** Where the next trailing and leading insertions go (Infinity when none is left): most copies pass none. */
  private trailingAt = Infinity;
  private leadingAt = Infinity;

  constructor(code: Uint8Array, w: ByteWriter, riders: readonly RiderInsertions[]) {
    this.code = code;
    this.w = w;
    this.start(code, w, riders);
  }

  /**
   * Starts over on another body, `code` into `w` with `riders`' insertions (and their entry code
   * written at once): one splicer serves body after body, once each is copied.
   */
  start(code: Uint8Array, w: ByteWriter, riders: readonly RiderInsertions[]): this {
    this.code = code;
    this.w = w;
    this.copied = 0;
    this.trailingCount = 0;
    this.leadingCount = 0;
    for (const rider of riders) {
      this.trailingCount = addCursor(this.trailing, this.trailingCount, rider.trailing);
      this.leadingCount = addCursor(this.leading, this.leadingCount, rider.leading);
      if (rider.entry !== undefined) w.bytes(rider.entry);
    }
    this.trailingAt = earliest(this.trailing, this.trailingCount);
    this.leadingAt = earliest(this.leading, this.leadingCount);
    return this;
  }

  /** Copies the original up to `offset`, with the insertions before it, and the trailing ones at it. */
  copyTo(offset: number): void {
    while (this.trailingAt <= offset || this.leadingAt <= offset - 1) {
      const trailing = next(this.trailing, this.trailingCount, offset);
      const leading = next(this.leading, this.leadingCount, offset - 1);
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
    for (
      let cursor = next(this.leading, this.leadingCount, offset);
      cursor !== undefined;
      cursor = next(this.leading, this.leadingCount, offset)
    )
      this.emit(cursor);
  }

  /** Moves past original bytes the host pass replaced, up to `offset`. */
  skipTo(offset: number): void {
    this.copied = offset;
  }

  /** Writes `cursor`'s next insertion, and notes where the next ones go. */
  private emit(cursor: Cursor): void {
    cursor.emit(this.w);
    this.trailingAt = earliest(this.trailing, this.trailingCount);
    this.leadingAt = earliest(this.leading, this.leadingCount);
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
export function finishRiders(
  riders: readonly BodyRider[],
  firstLocal: number,
  /**
   * A list an earlier call returned, to fill again (its records written over) rather than make a new
   * one: a pass that finishes body after body, each copied before the next.
   */
  into: RiderInsertions[] = [],
): RiderInsertions[] {
  let next = firstLocal;
  const finished = into as Finished[];
  for (let k = 0; k < riders.length; k++) {
    const { entry, trailing, leading, locals } = (riders[k] as BodyRider).finish(next);
    if (locals !== undefined) for (const group of locals) next += group.count;
    const record = finished[k];
    if (record === undefined) finished.push({ entry, trailing, leading, locals });
    else {
      record.entry = entry;
      record.trailing = trailing;
      record.leading = leading;
      record.locals = locals;
    }
  }
  if (finished.length > riders.length) finished.length = riders.length;
  return finished;
}

/** A record of {@link finishRiders}: what one rider inserts, in the one shape every record has. */
interface Finished {
  entry: Uint8Array | undefined;
  trailing: Insertions | undefined;
  leading: Insertions | undefined;
  locals: readonly LocalGroup[] | undefined;
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

/**
 * Points the cursor at `count` in `cursors` (made if there is none yet) at `list`, if it inserts
 * anything; the count of cursors in use after.
 */
function addCursor(cursors: Cursor[], count: number, list: Insertions | undefined): number {
  if (list === undefined || list.count === 0) return count;
  const cursor = cursors[count];
  if (cursor === undefined) cursors.push(new Cursor(list));
  else cursor.start(list);
  return count + 1;
}

/** The position in one list of insertions. */
class Cursor {
  private i = 0;

  constructor(private list: Insertions) {}

  /** Starts at the first insertion of `list`. */
  start(list: Insertions): void {
    this.list = list;
    this.i = 0;
  }

  /** The offset of the next insertion, or Infinity. */
  get at(): number {
    return this.i < this.list.count ? this.list.offset(this.i) : Infinity;
  }

  emit(w: ByteWriter): void {
    this.list.writeTo(w, this.i);
    this.i++;
  }
}

/** Where the earliest next insertion of the first `count` of `cursors` goes (Infinity when none is left). */
function earliest(cursors: readonly Cursor[], count: number): number {
  let at = Infinity;
  for (let c = 0; c < count; c++) at = Math.min(at, (cursors[c] as Cursor).at);
  return at;
}

/**
 * The first of the first `count` of `cursors` whose next insertion is at or before `limit` (the
 * earliest, the first list on a tie).
 */
function next(cursors: readonly Cursor[], count: number, limit: number): Cursor | undefined {
  let chosen: Cursor | undefined;
  for (let c = 0; c < count; c++) {
    const cursor = cursors[c] as Cursor;
    if (cursor.at <= limit && (chosen === undefined || cursor.at < chosen.at)) chosen = cursor;
  }
  return chosen;
}
