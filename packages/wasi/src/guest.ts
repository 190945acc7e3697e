/**
 * The guest's linear memory as WASI functions read and write it: little-endian
 * integers, byte ranges and I/O vectors, every access bounds-checked. A view
 * is refreshed when the memory grows (which replaces its buffer).
 */
import { Layout } from './abi';

/** Thrown for an access outside the guest's memory; the call answers `EFAULT`. */
export class Fault extends Error {
  override readonly name = 'Fault';
}

/** One I/O vector: `length` bytes at `pointer` in guest memory. */
export interface IoVector {
  readonly pointer: number;
  readonly length: number;
}

export class GuestMemory {
  private buffer: ArrayBufferLike | undefined;
  private view = new DataView(new ArrayBuffer(0));
  private bytes = new Uint8Array(0);

  constructor(private readonly memory: WebAssembly.Memory) {}

  private fresh(): void {
    if (this.memory.buffer === this.buffer) return;
    this.buffer = this.memory.buffer;
    this.view = new DataView(this.buffer);
    this.bytes = new Uint8Array(this.buffer);
  }

  /** Checks that `length` bytes at `pointer` are inside memory. */
  private check(pointer: number, length: number): void {
    this.fresh();
    if (pointer < 0 || length < 0 || pointer + length > this.bytes.length)
      throw new Fault(`${length} bytes at ${pointer} are outside the guest's ${this.bytes.length} bytes`);
  }

  u8(pointer: number): number {
    this.check(pointer, 1);
    return this.view.getUint8(pointer);
  }

  u16(pointer: number): number {
    this.check(pointer, 2);
    return this.view.getUint16(pointer, true);
  }

  u32(pointer: number): number {
    this.check(pointer, 4);
    return this.view.getUint32(pointer, true);
  }

  u64(pointer: number): bigint {
    this.check(pointer, 8);
    return this.view.getBigUint64(pointer, true);
  }

  setU8(pointer: number, value: number): void {
    this.check(pointer, 1);
    this.view.setUint8(pointer, value);
  }

  setU16(pointer: number, value: number): void {
    this.check(pointer, 2);
    this.view.setUint16(pointer, value, true);
  }

  setU32(pointer: number, value: number): void {
    this.check(pointer, 4);
    this.view.setUint32(pointer, value >>> 0, true);
  }

  setU64(pointer: number, value: bigint): void {
    this.check(pointer, 8);
    this.view.setBigUint64(pointer, BigInt.asUintN(64, value), true);
  }

  /** A view (not a copy) of `length` bytes at `pointer`: valid until the memory grows. */
  read(pointer: number, length: number): Uint8Array {
    this.check(pointer, length);
    return this.bytes.subarray(pointer, pointer + length);
  }

  write(pointer: number, data: Uint8Array): void {
    this.check(pointer, data.length);
    this.bytes.set(data, pointer);
  }

  /** Fills `length` bytes at `pointer` by `fill(view)`, a view of exactly those bytes. */
  fill(pointer: number, length: number, fill: (view: Uint8Array) => void): void {
    this.check(pointer, length);
    fill(this.bytes.subarray(pointer, pointer + length));
  }

  /** The `count` I/O vectors at `pointer`, each checked to lie inside memory. */
  ioVectors(pointer: number, count: number): IoVector[] {
    this.check(pointer, count * Layout.iovec.size);
    const vectors: IoVector[] = [];
    for (let i = 0; i < count; i++) {
      const at = pointer + i * Layout.iovec.size;
      const vector = { pointer: this.u32(at + Layout.iovec.buf), length: this.u32(at + Layout.iovec.len) };
      this.check(vector.pointer, vector.length);
      vectors.push(vector);
    }
    return vectors;
  }

  /** A UTF-8 string of `length` bytes at `pointer`; `undefined` if it is not valid UTF-8. */
  text(pointer: number, length: number): string | undefined {
    try {
      return UTF8.decode(this.read(pointer, length));
    } catch {
      return undefined;
    }
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
