/**
 * The data section, read for its structure when a module is decoded and into
 * segments only when something asks for them. ruby.wasm has 17,866 segments:
 * decoding them (an object, an offset and a view of its bytes each)
 * was half of decoding the module, and long-lived objects the collector
 * promoted page by page, for a list that a load only copies back out.
 */
import { ByteReader } from './bytes';
import { readConstantExpression } from './instructions';
import type { DataSegment, WasmModule } from './types';
import { lebEnd, readLeb } from './walk';

/** A data segment's encoding, fully decoded. */
export function readData(reader: ByteReader): DataSegment {
  const start = reader.offset;
  const flags = reader.u32();
  switch (flags) {
    case 0:
      return {
        mode: 'active',
        memory: 0,
        offset: readConstantExpression(reader),
        bytes: reader.byteVector(),
      };
    case 1:
      return { mode: 'passive', memory: 0, bytes: reader.byteVector() };
    case 2: {
      const memory = reader.u32();
      return { mode: 'active', memory, offset: readConstantExpression(reader), bytes: reader.byteVector() };
    }
    default:
      return reader.fail(`invalid data segment flags ${flags}`, start);
  }
}

/**
 * A data section whose segments are all of the two plain forms (passive, or
 * active in memory 0 at an `i32.const` offset), not yet decoded: where its
 * bytes are, and what is known of them without decoding.
 */
export interface UndecodedData {
  /** The module's bytes; the section's content (count and segments) is `[start, end)`. */
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly count: number;
  /** The index of the first active segment, or -1. */
  readonly firstActive: number;
  /** The segments, once something asked for them. */
  decoded: DataSegment[] | undefined;
}

/**
 * One plain data segment as {@link plainSegmentAt} last read it: its flags (0, active, or 1,
 * passive), its offset (an active one's `i32.const`, as the unsigned address it names) and its
 * bytes' length.
 */
const plain = { flags: 0, offset: 0, length: 0 };

/**
 * Reads into {@link plain} the data segment at `at` if it is of a plain form (see {@link
 * UndecodedData}) whose numbers take at most four bytes each, and returns where it ends; -1 for
 * anything else (which {@link readData} reads, or rejects with the error it always gave).
 */
function plainSegmentAt(bytes: Uint8Array, at: number, end: number): number {
  if (at >= end) return -1;
  const flags = bytes[at++] as number;
  let offset = 0;
  if (flags === 0) {
    if (at >= end || bytes[at++] !== 0x41) return -1;
    const start = at;
    at = pastShortLeb(bytes, at, end);
    if (at < 0 || at >= end || bytes[at++] !== 0x0b) return -1;
    // Sign-extended from the LEB's last payload bit, then read as an address.
    const unused = 32 - 7 * (at - 1 - start);
    offset = ((readLeb(bytes, start) << unused) >> unused) >>> 0;
  } else if (flags !== 1) {
    return -1;
  }
  const lengthAt = at;
  at = pastShortLeb(bytes, at, end);
  if (at < 0) return -1;
  const length = readLeb(bytes, lengthAt);
  if (length > end - at) return -1;
  plain.flags = flags;
  plain.offset = offset;
  plain.length = length;
  return at + length;
}

/** Past a LEB128 of one to four bytes (always a valid u32 and s32) at `at`, or -1. */
function pastShortLeb(bytes: Uint8Array, at: number, end: number): number {
  for (let i = 0; i < 4 && at < end; i++) if ((bytes[at++] as number) < 0x80) return at;
  return -1;
}

/**
 * The bytes of each data section {@link decodeModule} decoded, by the list it made of its segments
 * (when they are not all of the plain forms): the encoder writes such a list's section as it was
 * read. A pass that changes the segments makes a new list (a module's lists are read only).
 */
const asDecoded = new WeakMap<readonly DataSegment[], Uint8Array>();

/**
 * Reads the data section's content at `reader` (which it leaves at the end): into `module.data`, or,
 * when all segments are of the plain forms, into what it returns for {@link withUndecodedData}.
 * Errors are those of decoding every segment.
 */
export function readDataSection(
  reader: ByteReader,
  module: { data: readonly DataSegment[] },
): UndecodedData | undefined {
  const start = reader.offset;
  const count = reader.u32();
  let firstActive = -1;
  for (let i = 0; i < count; i++) {
    const next = plainSegmentAt(reader.bytes, reader.offset, reader.end);
    if (next < 0) {
      reader.offset = start;
      const data = reader.vector(readData);
      asDecoded.set(data, reader.bytes.subarray(start, reader.offset));
      module.data = data;
      return undefined;
    }
    reader.offset = next;
    if (plain.flags === 0 && firstActive < 0) firstActive = i;
  }
  // None is an empty list: an encoding writes no section for it.
  if (count === 0) return undefined;
  return { bytes: reader.bytes, start, end: reader.offset, count, firstActive, decoded: undefined };
}

/**
 * Where a module whose segments are not decoded keeps them (a property no spread or `Object.assign`
 * copies: their copies get `data` decoded).
 */
const UNDECODED = Symbol('undecoded data segments');

/** A module whose `data` is {@link DATA_ACCESSOR}. */
interface WithUndecoded {
  [UNDECODED]?: UndecodedData | undefined;
}

/**
 * The `data` of every module whose segments are not decoded: one accessor for all, so that all such
 * modules share their shape (an accessor of each module's own made each a dictionary, whose every
 * read is a lookup).
 */
const DATA_ACCESSOR: PropertyDescriptor = {
  get(this: WithUndecoded): DataSegment[] {
    const undecoded = this[UNDECODED] as UndecodedData;
    if (undecoded.decoded === undefined) {
      const { bytes, start, end } = undecoded;
      undecoded.decoded = new ByteReader(bytes, start, end).vector(readData);
      asDecoded.set(undecoded.decoded, bytes.subarray(start, end));
    }
    return undecoded.decoded;
  },
  set(this: WithUndecoded, value: readonly DataSegment[]) {
    Object.defineProperty(this, UNDECODED, { value: undefined });
    Object.defineProperty(this, 'data', { value, writable: true, enumerable: true, configurable: true });
  },
  enumerable: true,
  configurable: true,
};

/**
 * A copy of `module`'s fields whose `data` decodes `undecoded`'s segments when first read: a
 * literal (4x faster than a copy by `Object.keys`) given the accessor and its hidden state.
 */
export function withUndecodedData<M extends WasmModule>(module: M, undecoded: UndecodedData): M {
  const copy: Omit<WasmModule, 'data'> = {
    types: module.types,
    imports: module.imports,
    functions: module.functions,
    tables: module.tables,
    memories: module.memories,
    tags: module.tags,
    globals: module.globals,
    exports: module.exports,
    start: module.start,
    elements: module.elements,
    dataCount: module.dataCount,
    code: module.code,
    customSections: module.customSections,
  };
  Object.defineProperty(copy, UNDECODED, { value: undecoded, configurable: true });
  return Object.defineProperty(copy, 'data', DATA_ACCESSOR) as M;
}

/** What `module`'s `data` decodes when first read, if it is still the one {@link decodeModule} gave it. */
export function undecodedData(module: WasmModule): UndecodedData | undefined {
  return (module as WithUndecoded)[UNDECODED];
}

/**
 * The content of `module`'s data section as {@link decodeModule} read it (count included), if
 * `module.data` is still the list it read.
 */
export function dataSectionBytes(module: WasmModule): Uint8Array | undefined {
  const undecoded = undecodedData(module);
  return undecoded === undefined
    ? asDecoded.get(module.data)
    : undecoded.bytes.subarray(undecoded.start, undecoded.end);
}

/** How many data segments `module` has, without decoding them if they are not. */
export function dataSegmentCount(module: WasmModule): number {
  return undecodedData(module)?.count ?? module.data.length;
}

/**
 * Visits each of `module`'s data segments without its bytes, in order: its mode, its memory (0 for
 * a passive one), where an active one writes when its offset is a constant `i32.const` (the address
 * it names; `undefined` for another expression, and for a passive segment), and its length. For a
 * module {@link decodeModule} read, the segments need not be decoded (tens of thousands in a large
 * module).
 *
 * @example
 * ```ts
 * let passive = 0;
 * forEachDataSegment(decodeModule(bytes), (mode) => {
 *   if (mode === 'passive') passive++;
 * });
 * ```
 */
export function forEachDataSegment(
  module: WasmModule,
  visit: (mode: DataSegment['mode'], memory: number, offset: number | undefined, length: number) => void,
): void {
  const undecoded = undecodedData(module);
  if (undecoded === undefined) {
    for (const segment of module.data)
      visit(segment.mode, segment.memory, constantOffset(segment), segment.bytes.length);
    return;
  }
  const { bytes, end } = undecoded;
  let at = lebEnd(bytes, undecoded.start);
  for (let i = 0; i < undecoded.count; i++) {
    at = plainSegmentAt(bytes, at, end);
    if (plain.flags === 1) visit('passive', 0, undefined, plain.length);
    else visit('active', 0, plain.offset, plain.length);
  }
}

/** Where an active segment writes, if its offset is one `i32.const` (32-bit memories only: the codec refuses 64-bit ones). */
function constantOffset(segment: DataSegment): number | undefined {
  if (segment.mode !== 'active') return undefined;
  const [only, ...rest] = segment.offset ?? [];
  return only?.op.name === 'i32.const' && rest.length === 0 ? (only.immediate as number) >>> 0 : undefined;
}

/**
 * `module` with `changes`: what a transform returns. Unlike a spread or `Object.assign`, which read
 * every property, the copy keeps `module`'s data segments undecoded if they are (see {@link
 * forEachDataSegment}); they decode once, for the module and all its copies, when first read.
 *
 * @example
 * ```ts
 * const renamed = derivedModule(module, { exports: [] });
 * ```
 */
export function derivedModule(module: WasmModule, changes: Partial<WasmModule>): WasmModule {
  const undecoded = undecodedData(module);
  return undecoded === undefined || 'data' in changes
    ? Object.assign({}, module, changes)
    : Object.assign(withUndecodedData(module, undecoded), changes);
}
