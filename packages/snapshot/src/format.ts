/**
 * The WSNP binary format (version 4; versions 1 to 3 are still read),
 * specified in this package's README.
 * All integers are little-endian; the last bytes are the checksum of
 * everything before them: XXH3-64 since version 4, XXH32 in version 3,
 * CRC-32C before.
 */
import {
  type Result,
  type SnapshotError,
  WASM_PAGE_BYTES,
  err,
  ok,
  readableBytes,
  sandboxError,
} from '@ri-sandbox/core';
import { crc32c } from './crc32c';
import { type Xxh3Stream, xxh3, xxh3Stream } from './xxh3';
import { xxh32 } from './xxh32';
import type { MemoryChunk, SavedGlobal, SavedTable, SavedValue, SnapshotContents } from './state';
import { MEMORY_BLOCK_BYTES } from './state';

/** The first four bytes of every snapshot: `WSNP`. */
export const SNAPSHOT_MAGIC = Uint8Array.of(0x57, 0x53, 0x4e, 0x50);
/** The format version this library writes. It reads this one and every earlier one. */
export const SNAPSHOT_VERSION = 4;
/** The first version with extension sections. */
const EXTENSIONS_SINCE = 2;
/** The first version checksummed with XXH32 (CRC-32C before). */
const XXH32_SINCE = 3;
/** The first version checksummed with XXH3-64, in eight bytes (four before). */
const XXH3_SINCE = 4;

/** How many bytes the checksum takes at the end of a snapshot of format `version`. */
function checksumBytes(version: number): number {
  return version >= XXH3_SINCE ? 8 : 4;
}

/**
 * The checksum a snapshot of format `version` (default: the one this library
 * writes) ends with, of `bytes` (every byte before it), as an unsigned integer:
 * XXH3-64 since version 4, XXH32 in version 3, CRC-32C before.
 */
export function snapshotChecksum(bytes: Uint8Array, version: number = SNAPSHOT_VERSION): bigint {
  if (version >= XXH3_SINCE) return xxh3(bytes);
  return BigInt(version >= XXH32_SINCE ? xxh32(bytes) : crc32c(bytes));
}

function storedChecksum(view: DataView, at: number, version: number): bigint {
  return version >= XXH3_SINCE ? view.getBigUint64(at, true) : BigInt(view.getUint32(at, true));
}

/**
 * Writes over the last bytes of `snapshot` the checksum its format version
 * (read from its header) calls for, of every byte before them: for tools that
 * edit a snapshot on purpose. `SNAPSHOT_ERROR`, and nothing written, if
 * `snapshot` is too short to hold a header and that checksum.
 */
export function sealSnapshot(snapshot: Uint8Array): Result<void, SnapshotError> {
  if (!(snapshot instanceof Uint8Array) || snapshot.length < HEADER_BYTES + MIN_CHECKSUM_BYTES)
    return snapshotError('only a snapshot with a whole header can be sealed');
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  const version = view.getUint16(4, true);
  const at = snapshot.length - checksumBytes(version);
  if (at < HEADER_BYTES)
    return snapshotError(
      `${snapshot.length} bytes is too short for a version ${version} header and checksum`,
    );
  const checksum = snapshotChecksum(snapshot.subarray(0, at), version);
  if (version >= XXH3_SINCE) view.setBigUint64(at, checksum, true);
  else view.setUint32(at, Number(checksum), true);
  return ok(undefined);
}

const HASH_BYTES = 32;
/** magic, version (u16), flags (u16), total length (u32), module hash, config hash. */
const HEADER_BYTES = 12 + 2 * HASH_BYTES;
const CHECKSUM_BYTES = checksumBytes(SNAPSHOT_VERSION);
/** The checksum's size in the oldest versions: a snapshot is never shorter than a header and this. */
const MIN_CHECKSUM_BYTES = 4;
const SECTION_HEADER_BYTES = 5;
/** The total length is a u32. */
const MAX_SNAPSHOT_BYTES = 0xffffffff;

/** Section ids, in the order they appear. */
const Section = { host: 1, globals: 2, tables: 3, memory: 4, extension: 5 } as const;

/** The wasm binary encoding of each saved value type, and its payload size. */
const VALUE_CODES = {
  i32: [0x7f, 4],
  i64: [0x7e, 8],
  f32: [0x7d, 4],
  f64: [0x7c, 8],
  v128: [0x7b, 16],
  funcref: [0x70, 4],
  externref: [0x6f, 0],
} as const satisfies Record<SavedValue['type'], readonly [number, number]>;

type ValueTypeName = keyof typeof VALUE_CODES;
const TYPE_BY_CODE = new Map<number, ValueTypeName>(
  Object.entries(VALUE_CODES).map(([name, [code]]) => [code, name as ValueTypeName]),
);

function snapshotError(reason: string): Result<never, SnapshotError> {
  return err(sandboxError.snapshotError(reason));
}

function globalsSize(globals: readonly SavedGlobal[]): number {
  return globals.reduce((sum, g) => sum + 5 + VALUE_CODES[g.value.type][1], 4);
}

function tablesSize(tables: readonly SavedTable[]): number {
  return tables.reduce((sum, t) => sum + 8 + 4 * t.elements.length, 4);
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The extensions in name order (the same bytes whatever order they were given in), names encoded. */
function extensionsOf(contents: SnapshotContents): [name: Uint8Array, bytes: Uint8Array][] {
  return [...(contents.extensions ?? new Map<string, Uint8Array>())]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, bytes]) => [utf8.encode(name), bytes]);
}

function memorySize(contents: SnapshotContents): number {
  const { memory } = contents;
  return memory === undefined ? 1 : memory.chunks.reduce((sum, c) => sum + 8 + c.bytes.length, 9);
}

/** How much of a long run of bytes is written before it is hashed: the writes stay in the cache for the hash. */
const HASH_PIECE_BYTES = 1 << 16;

/**
 * Fixed-width little-endian writes into a buffer of known size, hashed
 * (XXH3-64) as they are written: long runs of bytes piece by piece, each
 * piece while it is still in the cache, rather than all at the end.
 */
class Writer<B extends ArrayBufferLike> {
  readonly bytes: Uint8Array<B>;
  private readonly view: DataView;
  offset = 0;
  /** Bytes at the start of `bytes` given to `hash` already. */
  private hashed = 0;

  constructor(
    /** Where the bytes go: exactly as many as the writer will write. */
    bytes: Uint8Array<B>,
    private readonly hash: Xxh3Stream,
  ) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    hash.reset();
  }

  u8(value: number): void {
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u16(value: number): void {
    this.view.setUint16(this.offset, value, true);
    this.offset += 2;
  }

  u32(value: number): void {
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  u64(value: bigint): void {
    this.view.setBigUint64(this.offset, value, true);
    this.offset += 8;
  }

  raw(bytes: Uint8Array): void {
    if (bytes.length <= HASH_PIECE_BYTES) {
      this.bytes.set(bytes, this.offset);
      this.offset += bytes.length;
      return;
    }
    for (let at = 0; at < bytes.length; at += HASH_PIECE_BYTES) {
      const piece = bytes.subarray(at, at + HASH_PIECE_BYTES);
      this.bytes.set(piece, this.offset);
      this.offset += piece.length;
      this.absorb();
    }
  }

  section(id: number, size: number): void {
    this.u8(id);
    this.u32(size);
  }

  /** Writes the checksum of everything written before it, as this version of the format has it (XXH3-64). */
  checksum(): void {
    this.absorb();
    this.u64(this.hash.digest());
  }

  private absorb(): void {
    this.hash.update(this.bytes.subarray(this.hashed, this.offset));
    this.hashed = this.offset;
  }
}

function writeValue(w: Writer<ArrayBufferLike>, value: SavedValue): void {
  w.u8(VALUE_CODES[value.type][0]);
  switch (value.type) {
    case 'i32':
      w.u32(value.value >>> 0);
      break;
    case 'i64':
      w.u64(BigInt.asUintN(64, value.value));
      break;
    case 'f32':
      w.u32(value.bits >>> 0);
      break;
    case 'f64':
      w.u64(BigInt.asUintN(64, value.bits));
      break;
    case 'v128':
      w.u64(BigInt.asUintN(64, value.low));
      w.u64(BigInt.asUintN(64, value.high));
      break;
    case 'funcref':
      w.u32((value.function ?? -1) >>> 0);
      break;
    case 'externref':
      break;
  }
}

/**
 * Encodes `contents` as a WSNP snapshot. Memory chunks are copied once, into
 * the result; zero blocks between them take no space. With `into`, the result
 * is written there when it fits (as `into.subarray(0, length)`), and into a new
 * buffer when it does not. `into` must not share a buffer with a part of
 * `contents` longer than 64 bytes (`SNAPSHOT_ERROR`: writing would change
 * what is being written); shorter parts (the binding's hashes, a small host
 * section) are copied before anything is written, and may.
 */
export function encodeSnapshot(contents: SnapshotContents): Result<Uint8Array<ArrayBuffer>, SnapshotError>;
export function encodeSnapshot<B extends ArrayBufferLike>(
  contents: SnapshotContents,
  into: Uint8Array<B> | undefined,
): Result<Uint8Array<B | ArrayBuffer>, SnapshotError>;
export function encodeSnapshot(
  contents: SnapshotContents,
  into?: Uint8Array,
): Result<Uint8Array, SnapshotError> {
  const parts = into === undefined ? contents : shortPartsCopied(contents);
  if (into !== undefined && sharesBuffer(into, parts))
    return snapshotError('the buffer to write into shares memory with what it would hold');
  const { binding, host, globals, tables, memory } = parts;
  if (binding.moduleHash.length !== HASH_BYTES || binding.configHash.length !== HASH_BYTES)
    return snapshotError(`the binding's hashes must be ${HASH_BYTES} bytes each`);
  const extensions = extensionsOf(parts);
  const sizes = [
    host.length,
    globalsSize(globals),
    tablesSize(tables),
    memorySize(parts),
    ...extensions.map(([name, bytes]) => 4 + name.length + bytes.length),
  ];
  const total =
    HEADER_BYTES + sizes.reduce((sum, size) => sum + SECTION_HEADER_BYTES + size, 0) + CHECKSUM_BYTES;
  if (total > MAX_SNAPSHOT_BYTES)
    return snapshotError(`${total} bytes is more than a snapshot can hold (${MAX_SNAPSHOT_BYTES})`);
  const w = new Writer(
    into !== undefined && into.length >= total ? into.subarray(0, total) : new Uint8Array(total),
    xxh3Stream(),
  );
  w.raw(SNAPSHOT_MAGIC);
  w.u16(SNAPSHOT_VERSION);
  w.u16(0);
  w.u32(total);
  w.raw(binding.moduleHash);
  w.raw(binding.configHash);
  w.section(Section.host, sizes[0] as number);
  w.raw(host);
  w.section(Section.globals, sizes[1] as number);
  w.u32(globals.length);
  for (const g of globals) {
    w.u32(g.index);
    writeValue(w, g.value);
  }
  w.section(Section.tables, sizes[2] as number);
  w.u32(tables.length);
  for (const t of tables) {
    w.u32(t.index);
    w.u32(t.elements.length);
    for (const element of t.elements) w.u32(element >>> 0);
  }
  w.section(Section.memory, sizes[3] as number);
  w.u8(memory === undefined ? 0 : 1);
  if (memory !== undefined) {
    w.u32(memory.pages);
    w.u32(memory.chunks.length);
    for (const chunk of memory.chunks) {
      w.u32(chunk.offset);
      w.u32(chunk.bytes.length);
      w.raw(chunk.bytes);
    }
  }
  extensions.forEach(([name, bytes], i) => {
    w.section(Section.extension, sizes[4 + i] as number);
    w.u32(name.length);
    w.raw(name);
    w.raw(bytes);
  });
  w.checksum();
  return ok(w.bytes);
}

/**
 * The longest parts copied before a snapshot is written into a buffer of the caller's, rather than
 * asked for their `buffer`: V8 keeps a typed array of up to 64 bytes made on its own on its heap, and
 * asking for its `buffer` moves it off (about 1 µs, for a host section made fresh for each snapshot).
 * A longer array is never on the heap, nor a view of one.
 */
const COPIED_UP_TO_BYTES = 64;

const isShort = (bytes: Uint8Array): boolean => bytes.length <= COPIED_UP_TO_BYTES;

const copiedIfShort = (bytes: Uint8Array): Uint8Array => (isShort(bytes) ? bytes.slice() : bytes);

/** `contents` with its parts of up to {@link COPIED_UP_TO_BYTES} copied: nothing written can change them. */
function shortPartsCopied(contents: SnapshotContents): SnapshotContents {
  const { binding, host, globals, tables, memory, extensions } = contents;
  return {
    binding: { moduleHash: copiedIfShort(binding.moduleHash), configHash: copiedIfShort(binding.configHash) },
    host: copiedIfShort(host),
    globals,
    tables,
    memory:
      memory?.chunks.some((chunk) => isShort(chunk.bytes)) === true
        ? {
            pages: memory.pages,
            chunks: memory.chunks.map((chunk) => ({
              offset: chunk.offset,
              bytes: copiedIfShort(chunk.bytes),
            })),
          }
        : memory,
    extensions:
      extensions !== undefined && [...extensions.values()].some(isShort)
        ? new Map([...extensions].map(([name, bytes]) => [name, copiedIfShort(bytes)] as const))
        : extensions,
  };
}

/**
 * Whether `into` is a view of the same buffer as any part of `contents` longer than
 * {@link COPIED_UP_TO_BYTES} (writing it would change them; shorter ones are copies).
 */
function sharesBuffer(into: Uint8Array, contents: SnapshotContents): boolean {
  const { buffer } = into;
  const { binding, host, memory, extensions } = contents;
  const shares = (bytes: Uint8Array) => !isShort(bytes) && bytes.buffer === buffer;
  return (
    [binding.moduleHash, binding.configHash, host, ...(extensions?.values() ?? [])].some(shares) ||
    (memory?.chunks.some((chunk) => shares(chunk.bytes)) ?? false)
  );
}

/** Thrown inside the decoder for a structural problem; becomes `SNAPSHOT_ERROR`. */
class Malformed extends Error {}

/** Fixed-width little-endian reads that never pass `end`. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    /** A view of all of `bytes`, shared by the readers of its sections. */
    private readonly view: DataView,
    public offset: number,
    readonly end: number,
  ) {}

  private need(count: number, what: string): number {
    if (count > this.end - this.offset) throw new Malformed(`${what} runs past the end of its section`);
    const at = this.offset;
    this.offset += count;
    return at;
  }

  u8(what: string): number {
    return this.view.getUint8(this.need(1, what));
  }

  u32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }

  u64(what: string): bigint {
    return this.view.getBigUint64(this.need(8, what), true);
  }

  bytesOf(length: number, what: string): Uint8Array {
    const at = this.need(length, what);
    return this.bytes.subarray(at, at + length);
  }

  /** A reader over the next section, which must be `id`; this reader moves past it. */
  section(id: number, name: string): Reader {
    const found = this.u8('a section id');
    if (found !== id) throw new Malformed(`expected the ${name} section (id ${id}), found id ${found}`);
    const length = this.u32(`the ${name} section's length`);
    const at = this.need(length, `the ${name} section`);
    return new Reader(this.bytes, this.view, at, at + length);
  }

  /** Checks that the whole section was read. */
  finish(name: string): void {
    if (this.offset !== this.end)
      throw new Malformed(`the ${name} section has ${this.end - this.offset} extra bytes`);
  }
}

function readValue(r: Reader): SavedValue {
  const code = r.u8('a value type');
  const type = TYPE_BY_CODE.get(code);
  switch (type) {
    case 'i32':
      return { type, value: r.u32('an i32') | 0 };
    case 'i64':
      return { type, value: BigInt.asIntN(64, r.u64('an i64')) };
    case 'f32':
      return { type, bits: r.u32('an f32') };
    case 'f64':
      return { type, bits: r.u64('an f64') };
    case 'v128':
      return { type, low: r.u64('a v128'), high: r.u64('a v128') };
    case 'funcref': {
      const index = r.u32('a function reference') | 0;
      return { type, function: index === -1 ? null : index };
    }
    case 'externref':
      return { type };
    case undefined:
      throw new Malformed(`unknown value type 0x${code.toString(16)}`);
  }
}

function readGlobals(r: Reader): SavedGlobal[] {
  const count = r.u32('the global count');
  const globals: SavedGlobal[] = [];
  for (let i = 0; i < count; i++) globals.push({ index: r.u32('a global index'), value: readValue(r) });
  r.finish('globals');
  return globals;
}

function readTables(r: Reader): SavedTable[] {
  const count = r.u32('the table count');
  const tables: SavedTable[] = [];
  for (let i = 0; i < count; i++) {
    const index = r.u32('a table index');
    const length = r.u32('a table length');
    if (length > (r.end - r.offset) / 4)
      throw new Malformed(`table ${index} runs past the end of its section`);
    const elements = new Int32Array(length);
    for (let e = 0; e < length; e++) elements[e] = r.u32('a table element') | 0;
    tables.push({ index, elements });
  }
  r.finish('tables');
  return tables;
}

function readMemory(r: Reader): SnapshotContents['memory'] {
  const present = r.u8('the memory flag');
  if (present === 0) {
    r.finish('memory');
    return undefined;
  }
  if (present !== 1) throw new Malformed(`memory flag ${present} is neither 0 nor 1`);
  const pages = r.u32('the memory size');
  const byteLength = pages * WASM_PAGE_BYTES;
  const count = r.u32('the chunk count');
  const chunks: MemoryChunk[] = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    const offset = r.u32('a chunk offset');
    const length = r.u32('a chunk length');
    if (offset % MEMORY_BLOCK_BYTES !== 0 || offset < next || length === 0 || offset + length > byteLength)
      throw new Malformed(`memory chunk ${i} [${offset}, ${offset + length}) is out of place`);
    chunks.push({ offset, bytes: r.bytesOf(length, `memory chunk ${i}`) });
    next = offset + length;
  }
  r.finish('memory');
  return { pages, chunks };
}

/**
 * Decodes and checks a WSNP snapshot: `SNAPSHOT_ERROR` with the reason for bad
 * magic, an unknown version, truncation, a checksum mismatch or a malformed
 * section. Memory chunks in the result are views into `bytes`, not copies.
 */
export function decodeSnapshot(bytes: Uint8Array): Result<SnapshotContents, SnapshotError> {
  // A Uint8Array itself: not a proxy of one, whose reads could throw.
  if (readableBytes(bytes) !== bytes) return snapshotError('a snapshot is a Uint8Array');
  if (bytes.length < 4 || SNAPSHOT_MAGIC.some((b, i) => bytes[i] !== b))
    return snapshotError('not a snapshot: bad magic (expected "WSNP")');
  if (bytes.length < HEADER_BYTES + MIN_CHECKSUM_BYTES)
    return snapshotError(`truncated: ${bytes.length} bytes is shorter than a snapshot header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version < 1 || version > SNAPSHOT_VERSION)
    return snapshotError(
      `unsupported format version ${version} (this library reads 1 to ${SNAPSHOT_VERSION})`,
    );
  const flags = view.getUint16(6, true);
  const total = view.getUint32(8, true);
  if (bytes.length < total) return snapshotError(`truncated: ${bytes.length} of ${total} bytes`);
  if (bytes.length > total)
    return snapshotError(`${bytes.length - total} bytes after the end of the snapshot`);
  const end = total - checksumBytes(version);
  if (end < HEADER_BYTES)
    return snapshotError(`truncated: ${total} bytes is shorter than a version ${version} header`);
  if (snapshotChecksum(bytes.subarray(0, end), version) !== storedChecksum(view, end, version))
    return snapshotError('checksum mismatch: the snapshot is damaged');
  // A correct checksum over a bad structure means the snapshot was built wrong, not damaged in transit.
  if (flags !== 0) return snapshotError(`unknown flags 0x${flags.toString(16)}`);
  try {
    const r = new Reader(bytes, view, HEADER_BYTES, end);
    const binding = {
      moduleHash: bytes.slice(12, 12 + HASH_BYTES),
      configHash: bytes.slice(12 + HASH_BYTES, HEADER_BYTES),
    };
    const hostSection = r.section(Section.host, 'host');
    const host = hostSection.bytesOf(hostSection.end - hostSection.offset, 'host state').slice();
    const globals = readGlobals(r.section(Section.globals, 'globals'));
    const tables = readTables(r.section(Section.tables, 'tables'));
    const memory = readMemory(r.section(Section.memory, 'memory'));
    const extensions = new Map<string, Uint8Array>();
    while (version >= EXTENSIONS_SINCE && r.offset < r.end) {
      const section = r.section(Section.extension, 'extension');
      const nameBytes = section.bytesOf(section.u32('an extension name length'), 'an extension name');
      let name: string;
      try {
        name = fromUtf8.decode(nameBytes);
      } catch {
        throw new Malformed('an extension name is not UTF-8');
      }
      if (extensions.has(name)) throw new Malformed(`the extension "${name}" appears twice`);
      extensions.set(name, section.bytesOf(section.end - section.offset, `the extension "${name}"`).slice());
    }
    r.finish('snapshot');
    return ok({ binding, host, globals, tables, memory, extensions });
  } catch (error) {
    if (error instanceof Malformed) return snapshotError(`malformed: ${error.message}`);
    throw error;
  }
}
