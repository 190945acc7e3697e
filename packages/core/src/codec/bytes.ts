/**
 * A cursor over a byte array and a growable byte buffer: the two primitives
 * every structure of the binary format is read and written with.
 */

/** Thrown by {@link ByteReader} when the input is malformed; `offset` is where reading failed. */
export class WasmDecodeError extends Error {
  override readonly name = 'WasmDecodeError';
  constructor(
    message: string,
    /** Byte offset in the input at which the problem was found. */
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}

/** Thrown by {@link ByteWriter} when a value cannot be encoded. */
export class WasmEncodeError extends Error {
  override readonly name = 'WasmEncodeError';
}

// `ignoreBOM`: a name is exactly its bytes. By default a decoder drops a leading U+FEFF, which would
// rename an export called "\u{FEFF}x" to "x" (and make "" and "\u{FEFF}" collide).
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();
/** V8 keeps typed arrays up to this size on its heap, and moves one off when asked for a view of it. */
const ON_HEAP_BYTES = 64;
/**
 * `source[start, end)` copied into `target` at `at`: short ranges, and any of a source small enough
 * for V8 to keep on its heap (which a view would make it move off first), byte by byte; long ones in
 * bulk, through a view of the range unless it is the whole source.
 */
function copyRange(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): void {
  if (end - start < 32 || source.length <= ON_HEAP_BYTES) {
    for (let i = start, to = at; i < end; i++) target[to++] = source[i] as number;
  } else {
    // The whole of a source (a function body, a segment) needs no view of it.
    target.set(start === 0 && end === source.length ? source : source.subarray(start, end), at);
  }
}
/** Names up to this length that are ASCII are written without the encoder (see `ByteWriter.name`). */
const ASCII_NAME_MAX = 64;
const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);

/** Reads the primitive encodings of the WebAssembly binary format from a byte array. */
export class ByteReader {
  /** The current read position. */
  offset: number;

  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
    /** One past the last byte this reader may consume. */
    readonly end = bytes.length,
  ) {
    this.offset = offset;
  }

  /** Whether every byte up to {@link end} has been consumed. */
  get done(): boolean {
    return this.offset >= this.end;
  }

  /** Throws a {@link WasmDecodeError} at the current position. */
  fail(message: string, offset = this.offset): never {
    throw new WasmDecodeError(message, offset);
  }

  u8(): number {
    if (this.offset >= this.end) this.fail('unexpected end of input');
    return this.bytes[this.offset++] as number;
  }

  /** The next byte without consuming it. */
  peek(): number {
    if (this.offset >= this.end) this.fail('unexpected end of input');
    return this.bytes[this.offset] as number;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    const start = this.offset;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.u8();
      if (shift === 28 && (byte & 0x70) !== 0) this.fail('u32 LEB128 overflows 32 bits', start);
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
    }
    return this.fail('u32 LEB128 is longer than 5 bytes', start);
  }

  /** A signed LEB128 of at most 32 bits. */
  s32(): number {
    const start = this.offset;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.u8();
      if (shift === 28) {
        // The unused high bits must all equal the sign bit (bit 3 of the last byte).
        const high = byte & 0x78;
        if (high !== 0 && high !== 0x78) this.fail('s32 LEB128 overflows 32 bits', start);
      }
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        const used = shift + 7;
        return used < 32 ? (result << (32 - used)) >> (32 - used) : result | 0;
      }
    }
    return this.fail('s32 LEB128 is longer than 5 bytes', start);
  }

  /** A signed LEB128 of at most 33 bits (block types); returned as a JS number. */
  s33(): number {
    const start = this.offset;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) {
        if (i === 4 && (byte & 0x70) !== 0 && (byte & 0x70) !== 0x70) {
          this.fail('s33 LEB128 overflows 33 bits', start);
        }
        return byte & 0x40 ? result - scale : result;
      }
    }
    return this.fail('s33 LEB128 is longer than 5 bytes', start);
  }

  /**
   * Skips an unsigned LEB128 of at most 32 bits without building its value:
   * one of up to 4 bytes (28 bits) is always valid; a longer or unfinished one
   * goes to {@link u32}, which decides (and fails as it does).
   */
  skipU32(): void {
    this.skipLeb(4, false);
  }

  /** Skips a signed LEB128 of at most 32 bits, as {@link skipU32} does. */
  skipS32(): void {
    this.skipLeb(4, true);
  }

  /** Skips a signed LEB128 of at most 64 bits: one of up to 9 bytes (63 bits) is always valid. */
  skipS64(): void {
    const { bytes, end } = this;
    let at = this.offset;
    for (let i = 0; i < 9 && at < end; i++) {
      if (((bytes[at++] as number) & 0x80) === 0) {
        this.offset = at;
        return;
      }
    }
    this.s64();
  }

  private skipLeb(safeBytes: number, signed: boolean): void {
    const { bytes, end } = this;
    let at = this.offset;
    for (let i = 0; i < safeBytes && at < end; i++) {
      if (((bytes[at++] as number) & 0x80) === 0) {
        this.offset = at;
        return;
      }
    }
    if (signed) this.s32();
    else this.u32();
  }

  /** Skips `length` bytes. */
  skip(length: number): void {
    if (length > this.end - this.offset) {
      this.fail(`expected ${length} bytes, only ${this.end - this.offset} remain`);
    }
    this.offset += length;
  }

  /** A signed LEB128 of at most 64 bits, as a bigint. */
  s64(): bigint {
    const start = this.offset;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      if (i === 9 && byte !== 0 && byte !== 0x7f) this.fail('s64 LEB128 overflows 64 bits', start);
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) return BigInt.asIntN(64, byte & 0x40 ? result - (1n << shift) : result);
    }
    return this.fail('s64 LEB128 is longer than 10 bytes', start);
  }

  /** Four bytes, little-endian, as unsigned 32-bit raw bits (an f32's bit pattern is kept exactly). */
  f32Bits(): number {
    const b = this.take(4);
    return (
      ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0
    );
  }

  /** Eight bytes, little-endian, as unsigned 64-bit raw bits (an f64's bit pattern is kept exactly). */
  f64Bits(): bigint {
    const low = BigInt(this.f32Bits());
    const high = BigInt(this.f32Bits());
    return (high << 32n) | low;
  }

  /** The next `length` bytes, as a view into the input (not a copy). */
  take(length: number): Uint8Array {
    if (length > this.end - this.offset) {
      this.fail(`expected ${length} bytes, only ${this.end - this.offset} remain`);
    }
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  /** A length-prefixed byte vector, as a view into the input. */
  byteVector(): Uint8Array {
    return this.take(this.u32());
  }

  /** A length-prefixed UTF-8 name. */
  name(): string {
    const start = this.offset;
    const bytes = this.byteVector();
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail('name is not valid UTF-8', start);
    }
  }

  /** A length-prefixed vector whose elements `readElement` reads. */
  vector<T>(readElement: (reader: ByteReader) => T): T[] {
    const count = this.u32();
    // Each element takes at least one byte: a larger count is certainly truncated.
    if (count > this.end - this.offset) this.fail(`vector of ${count} elements exceeds the remaining input`);
    const items: T[] = new Array<T>(count);
    for (let i = 0; i < count; i++) items[i] = readElement(this);
    return items;
  }
}

/** How many bytes the unsigned LEB128 of `value` (a u32) takes. */
export function u32LebSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 128)) size++;
  return size;
}

/** How many bytes the signed LEB128 of `value` takes. */
function signedLebSize(value: bigint): number {
  let size = 1;
  for (let rest = value; rest >= 0x40n || rest < -0x40n; rest >>= 7n) size++;
  return size;
}

/** Writes the primitive encodings of the WebAssembly binary format into a growable buffer. */
export class ByteWriter {
  private buffer: Uint8Array<ArrayBuffer>;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity);
  }

  /** Number of bytes written so far. */
  get size(): number {
    return this.length;
  }

  /** How many bytes the buffer holds before a write must grow it. */
  get capacity(): number {
    return this.buffer.length;
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  u8(value: number): this {
    this.reserve(1);
    this.buffer[this.length++] = value & 0xff;
    return this;
  }

  u32(value: number): this {
    // `value >>> 0 === value` holds for the integers 0 to 2^32 - 1 and for nothing else (not for
    // fractions, NaN or infinities): one test where there were three.
    if (value >>> 0 !== value) throw new WasmEncodeError(`${value} is not a u32`);
    // Room for five bytes, or (near the end) for the exact size, so that a writer sized to its
    // output exactly does not grow into a new buffer for its last number.
    if (this.length + 5 > this.buffer.length) this.reserve(u32LebSize(value));
    const buffer = this.buffer;
    let rest = value;
    while (rest >= 0x80) {
      buffer[this.length++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buffer[this.length++] = rest;
    return this;
  }

  /** A signed LEB128; `value` must be an integer that fits the intended width (32 or 33 bits). */
  s32(value: number): this {
    if (value >= -64 && value < 64 && (value | 0) === value) {
      // One byte: the low seven bits (a negative value's sign bit is its bit 6).
      this.reserve(1);
      this.buffer[this.length++] = value & 0x7f;
      return this;
    }
    if (!Number.isInteger(value) || value < -(2 ** 32) || value >= 2 ** 32) {
      throw new WasmEncodeError(`${value} is not a signed 33-bit integer`);
    }
    if (this.length + 5 > this.buffer.length) this.reserve(signedLebSize(BigInt(value)));
    let rest = value;
    for (;;) {
      const byte = rest & 0x7f;
      rest = Math.floor(rest / 128);
      const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
      this.buffer[this.length++] = done ? byte : byte | 0x80;
      if (done) return this;
    }
  }

  s64(value: bigint): this {
    let rest = BigInt.asIntN(64, value);
    if (rest !== value) throw new WasmEncodeError(`${value} is not a signed 64-bit integer`);
    if (this.length + 10 > this.buffer.length) this.reserve(signedLebSize(value));
    for (;;) {
      const byte = Number(rest & 0x7fn);
      rest >>= 7n;
      const done = (rest === 0n && (byte & 0x40) === 0) || (rest === -1n && (byte & 0x40) !== 0);
      this.buffer[this.length++] = done ? byte : byte | 0x80;
      if (done) return this;
    }
  }

  /** Raw 32-bit pattern, little-endian. */
  f32Bits(bits: number): this {
    this.reserve(4);
    for (let i = 0; i < 4; i++) this.buffer[this.length++] = (bits >>> (i * 8)) & 0xff;
    return this;
  }

  /** Raw 64-bit pattern, little-endian. */
  f64Bits(bits: bigint): this {
    const unsigned = BigInt.asUintN(64, bits);
    this.f32Bits(Number(unsigned & 0xffffffffn));
    return this.f32Bits(Number(unsigned >> 32n));
  }

  bytes(bytes: Uint8Array): this {
    return this.range(bytes, 0, bytes.length);
  }

  /** `source[start, end)`, copied without creating a view (see `copyRange`). */
  range(source: Uint8Array, start: number, end: number): this {
    this.reserve(end - start);
    copyRange(source, start, end, this.buffer, this.length);
    this.length += end - start;
    return this;
  }

  /** Everything `other` holds, copied once. */
  append(other: ByteWriter): this {
    return this.range(other.buffer, 0, other.length);
  }

  /** `other`'s bytes `[start, end)` (offsets in what it wrote), copied without creating a view. */
  rangeOf(other: ByteWriter, start: number, end: number): this {
    return this.range(other.buffer, start, end);
  }

  /** Copies what was written into `target` at `at`, without creating a view (see `copyRange`). */
  copyInto(target: Uint8Array, at: number): void {
    copyRange(this.buffer, 0, this.length, target, at);
  }

  /** A length-prefixed byte vector. */
  byteVector(bytes: Uint8Array): this {
    return this.u32(bytes.length).bytes(bytes);
  }

  /**
   * A length-prefixed UTF-8 name. Names in modules are short and nearly
   * always ASCII: those are written byte by byte, without the encoder's new
   * array.
   */
  name(value: string): this {
    const length = value.length;
    if (length > ASCII_NAME_MAX) return this.byteVector(utf8Encoder.encode(value));
    for (let i = 0; i < length; i++)
      if (value.charCodeAt(i) >= 0x80) return this.byteVector(utf8Encoder.encode(value));
    this.u32(length).reserve(length);
    const buffer = this.buffer;
    for (let i = 0, at = this.length; i < length; i++, at++) buffer[at] = value.charCodeAt(i);
    this.length += length;
    return this;
  }

  /** A length-prefixed vector of `items`, each written by `writeElement`. */
  vector<T>(items: readonly T[], writeElement: (writer: ByteWriter, item: T) => void): this {
    this.u32(items.length);
    for (const item of items) writeElement(this, item);
    return this;
  }

  /** Forgets what was written, keeping the buffer: a scratch writer used again. */
  reset(): this {
    this.length = 0;
    return this;
  }

  /** Writes `bytes` at `at`, moving what was written from there on after them (in place, no copy made). */
  insert(at: number, bytes: Uint8Array): this {
    if (!Number.isInteger(at) || at < 0 || at > this.length)
      throw new WasmEncodeError(`cannot insert at ${at} in ${this.length} bytes`);
    this.reserve(bytes.length);
    this.buffer.copyWithin(at + bytes.length, at, this.length);
    this.buffer.set(bytes, at);
    this.length += bytes.length;
    return this;
  }

  /** The bytes written so far, as a view of the writer's buffer (no copy): valid until the next write. */
  view(): Uint8Array<ArrayBuffer> {
    return this.buffer.subarray(0, this.length);
  }

  /**
   * The bytes written so far: a copy, or the writer's own buffer when they
   * fill it exactly (a later write would grow into a new one, so it is never
   * written again either way).
   */
  finish(): Uint8Array<ArrayBuffer> {
    return this.length === this.buffer.length ? this.buffer : this.buffer.slice(0, this.length);
  }
}

/**
 * One writer kept from a use to the next for as long as the collector
 * leaves it: what a large output (a module's bodies, its encoding) is
 * written into when its bytes are needed only until the next such output,
 * so that each does not get a new buffer, whose pages the system must then
 * fault in (megabytes for a large module). Whoever takes the writer has it
 * alone until it gives it back; one that needs a writer in the meantime
 * gets a new one.
 */
export class IdleWriter {
  #idle: WeakRef<ByteWriter> | undefined;

  /** A writer of at least `capacity` bytes, empty: the idle one if it is still there and that large. */
  take(capacity: number): ByteWriter {
    const kept = this.#idle?.deref();
    this.#idle = undefined;
    return kept !== undefined && kept.capacity >= capacity ? kept.reset() : new ByteWriter(capacity);
  }

  /** Makes `writer` (what its last user wrote stays readable until the next `take`) the idle one. */
  give(writer: ByteWriter): void {
    this.#idle = new WeakRef(writer);
  }
}

/** The raw bit pattern of `value` rounded to f32, for building `f32.const` immediates. */
export function f32ToBits(value: number): number {
  float32[0] = value;
  return float32Bits[0] as number;
}
