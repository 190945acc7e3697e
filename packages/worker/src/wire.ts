/**
 * Calls and replies as bytes, for the shared-memory channel, written straight
 * into it and read straight out of it: a tag byte per value, then its payload
 * (little-endian). It carries exactly what structured clone would of plain
 * data: strings, booleans, numbers (`-0`, `NaN` and the infinities included),
 * `bigint`, `undefined`, `null`, arrays, plain objects and `Uint8Array`s.
 * Anything else (a class instance, an `Error`, a `Map`, a cycle) is refused:
 * such a call or reply goes by message instead, so both paths give the same
 * values. JSON text, which this replaced, cost about 4 µs of a round trip in
 * its encoding and parsing alone.
 */

/** The tags: what the value is, and so how its payload reads. */
const UNDEFINED = 0;
const NULL = 1;
const FALSE = 2;
const TRUE = 3;
/** An integer that fits 32 bits, `-0` excepted: 4 bytes. */
const INT32 = 4;
/** Any other number: 8 bytes. */
const FLOAT64 = 5;
/** A `bigint` that fits 64 bits (signed): 8 bytes. */
const BIGINT64 = 6;
/** A longer `bigint`: its decimal digits as a string. */
const BIGINT_TEXT = 7;
/** Its length in UTF-16 code units (u32), then the code units. */
const STRING = 8;
/** Its length (u32), then its elements. */
const ARRAY = 9;
/** Its number of keys (u32), then each key (as a string, untagged) and value. */
const OBJECT = 10;
/** Its length (u32), then the bytes. */
const BYTES = 11;

/** Deeper than any result the sandbox builds: a cycle ends here. */
const MAX_DEPTH = 64;

/**
 * Strings this long or shorter are looked up among those read before, by a hash of their code units:
 * a call or reply is mostly the same keys and names, and a string made again, one unit at a time,
 * costs far more than the comparison (and a property key made again must be interned again).
 */
const CACHED_UP_TO = 24;
/** How many short strings read before are kept, one per slot (a power of two). */
const RECENT_STRINGS = 256;
const recent = new Array<string | undefined>(RECENT_STRINGS);
/** The most code units handed to `String.fromCharCode` at once (an engine bounds a call's arguments). */
const CHARS_PER_CALL = 8192;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Why a value was not written: it cannot go exactly, or it does not fit. */
class NotWritten extends Error {}

/**
 * Writes a value at the start of one buffer (the channel's data area), over
 * and over: made once per buffer, since a `DataView` costs 0.1 to 0.3 µs to
 * make, as much as writing a small call.
 */
export class WireWriter {
  private readonly view: DataView;
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Writes `value` from the start of the buffer: the number of bytes written,
   * or `undefined` (and anything in the buffer may have changed) if it holds
   * something the wire cannot carry exactly, does not fit, or throws when read
   * (a getter): the message path then says what is wrong with it, as it does
   * for what it cannot clone.
   */
  write(value: unknown): number | undefined {
    this.at = 0;
    try {
      this.value(value, 0);
    } catch {
      return undefined;
    }
    return this.at;
  }

  /** The offset of `count` bytes reserved at the end. */
  private reserve(count: number): number {
    const at = this.at;
    if (at + count > this.bytes.length) throw new NotWritten();
    this.at = at + count;
    return at;
  }

  private tag(tag: number): void {
    this.bytes[this.reserve(1)] = tag;
  }

  private u32(value: number): void {
    this.view.setUint32(this.reserve(4), value, true);
  }

  /** A string, untagged. */
  private string(text: string): void {
    const length = text.length;
    this.u32(length);
    const { bytes } = this;
    for (let i = 0, at = this.reserve(2 * length); i < length; i++, at += 2) {
      const unit = text.charCodeAt(i);
      bytes[at] = unit;
      bytes[at + 1] = unit >>> 8;
    }
  }

  private value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.tag(STRING);
        this.string(value);
        return;
      case 'boolean':
        this.tag(value ? TRUE : FALSE);
        return;
      case 'number':
        if ((value | 0) === value && !Object.is(value, -0)) {
          this.tag(INT32);
          this.view.setInt32(this.reserve(4), value, true);
        } else {
          this.tag(FLOAT64);
          this.view.setFloat64(this.reserve(8), value, true);
        }
        return;
      case 'bigint':
        if (value >= INT64_MIN && value <= INT64_MAX) {
          this.tag(BIGINT64);
          this.view.setBigInt64(this.reserve(8), value, true);
        } else {
          this.tag(BIGINT_TEXT);
          this.string(value.toString());
        }
        return;
      case 'undefined':
        this.tag(UNDEFINED);
        return;
      case 'object':
        if (value === null) this.tag(NULL);
        else this.object(value, depth);
        return;
      default:
        throw new NotWritten();
    }
  }

  private object(value: object, depth: number): void {
    if (depth >= MAX_DEPTH) throw new NotWritten();
    if (Array.isArray(value)) {
      this.tag(ARRAY);
      this.u32(value.length);
      for (let i = 0; i < value.length; i++) this.value(value[i], depth + 1);
      return;
    }
    if (value instanceof Uint8Array && value.constructor === Uint8Array) {
      this.tag(BYTES);
      this.u32(value.length);
      this.bytes.set(value, this.reserve(value.length));
      return;
    }
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype !== Object.prototype && prototype !== null) throw new NotWritten();
    this.tag(OBJECT);
    const countAt = this.reserve(4);
    let count = 0;
    for (const key in value) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
      this.string(key);
      this.value((value as Record<string, unknown>)[key], depth + 1);
      count++;
    }
    this.view.setUint32(countAt, count, true);
  }
}

/** Reads what a {@link WireWriter} wrote at the start of one buffer, over and over: made once per buffer. */
export class WireReader {
  private readonly view: DataView;
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The value written last at the start of the buffer. */
  read(): unknown {
    this.at = 0;
    return this.value();
  }

  private u32(): number {
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  private string(): string {
    const length = this.u32();
    const start = this.at;
    this.at += 2 * length;
    return length <= CACHED_UP_TO ? this.shortString(start, length) : this.longString(start, length);
  }

  /** A short string: the one read last time, if it had the same code units (keys, names, states). */
  private shortString(start: number, length: number): string {
    let hash = length;
    for (let i = 0; i < length; i++) hash = (Math.imul(hash, 31) + this.unit(start + 2 * i)) | 0;
    const slot = hash & (RECENT_STRINGS - 1);
    const known = recent[slot];
    if (known?.length === length) {
      let same = true;
      for (let i = 0; i < length && same; i++) same = known.charCodeAt(i) === this.unit(start + 2 * i);
      if (same) return known;
    }
    let text = '';
    for (let i = 0; i < length; i++) text += String.fromCharCode(this.unit(start + 2 * i));
    recent[slot] = text;
    return text;
  }

  /** The UTF-16 code unit at `at` (from bytes: a `DataView` of shared memory reads them slower). */
  private unit(at: number): number {
    const { bytes } = this;
    return (bytes[at] as number) | ((bytes[at + 1] as number) << 8);
  }

  private longString(start: number, length: number): string {
    const units = new Uint16Array(length);
    for (let i = 0; i < length; i++) units[i] = this.unit(start + 2 * i);
    let text = '';
    for (let i = 0; i < length; i += CHARS_PER_CALL)
      text += String.fromCharCode.apply(null, units.subarray(i, i + CHARS_PER_CALL) as unknown as number[]);
    return text;
  }

  private value(): unknown {
    const tag = this.bytes[this.at++];
    switch (tag) {
      case UNDEFINED:
        return undefined;
      case NULL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case INT32: {
        const value = this.view.getInt32(this.at, true);
        this.at += 4;
        return value;
      }
      case FLOAT64: {
        const value = this.view.getFloat64(this.at, true);
        this.at += 8;
        return value;
      }
      case BIGINT64: {
        const value = this.view.getBigInt64(this.at, true);
        this.at += 8;
        return value;
      }
      case BIGINT_TEXT:
        return BigInt(this.string());
      case STRING:
        return this.string();
      case ARRAY: {
        const values = new Array<unknown>(this.u32());
        for (let i = 0; i < values.length; i++) values[i] = this.value();
        return values;
      }
      case OBJECT: {
        const record: Record<string, unknown> = {};
        for (let count = this.u32(); count > 0; count--) {
          const key = this.string();
          const value = this.value();
          // An own property named `__proto__`, as structured clone makes, not a prototype.
          if (key === '__proto__')
            Object.defineProperty(record, key, {
              value,
              writable: true,
              enumerable: true,
              configurable: true,
            });
          else record[key] = value;
        }
        return record;
      }
      case BYTES: {
        const length = this.u32();
        const bytes = new Uint8Array(length);
        bytes.set(new Uint8Array(this.view.buffer, this.view.byteOffset + this.at, length));
        this.at += length;
        return bytes;
      }
    }
  }
}
