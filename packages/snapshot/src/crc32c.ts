/**
 * CRC-32C (Castagnoli, the checksum of iSCSI, ext4 and SSE4.2's `crc32`
 * instruction): reflected polynomial 0x82F63B78, initial value and final XOR
 * 0xFFFFFFFF. Small inputs go eight bytes at a time ("slicing-by-8") in
 * JavaScript; large ones through a WebAssembly kernel, sixteen bytes at a time.
 */
import { type CrcKernel, KERNEL_SCRATCH_BYTES, createCrcKernel } from './crc32c-kernel';

const POLYNOMIAL = 0x82f63b78;

/** Sixteen 256-entry tables: table `t` advances the CRC over a byte followed by `t` zero bytes. */
const TABLES = (() => {
  const tables = new Int32Array(16 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    tables[byte] = crc;
  }
  for (let t = 1; t < 16; t++) {
    for (let byte = 0; byte < 256; byte++) {
      const previous = tables[(t - 1) * 256 + byte] as number;
      tables[t * 256 + byte] = (previous >>> 8) ^ (tables[previous & 0xff] as number);
    }
  }
  return tables;
})();

/** Whether this platform stores integers little-endian, as the word loop assumes. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Continues a raw (not yet inverted) CRC over `bytes[from, to)`, one byte at a time. */
function bytewise(crc: number, bytes: Uint8Array, from: number, to: number): number {
  const t = TABLES;
  let c = crc;
  for (let i = from; i < to; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c;
}

/** From this size on, the WebAssembly kernel is faster than the JavaScript loop. */
const KERNEL_MIN_BYTES = 64 * 1024;
let kernel: CrcKernel | undefined;

/** CRC-32C through the WebAssembly kernel, copying `bytes` through its scratch area piece by piece. */
function withKernel(bytes: Uint8Array, previous: number): number {
  kernel ??= createCrcKernel(TABLES);
  let crc = previous;
  for (let at = 0; at < bytes.length; at += KERNEL_SCRATCH_BYTES) {
    const piece = bytes.subarray(at, Math.min(bytes.length, at + KERNEL_SCRATCH_BYTES));
    kernel.scratch.set(piece);
    crc = kernel.crc(crc, piece.length);
  }
  return crc;
}

/**
 * The CRC-32C of `bytes`, as an unsigned 32-bit integer. Pass a previous
 * result as `previous` to continue over more bytes: `crc32c(b, crc32c(a))`
 * equals the CRC of `a` followed by `b`.
 *
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode('123456789')); // 0xe3069283
 * ```
 */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  if (bytes.length >= KERNEL_MIN_BYTES) return withKernel(bytes, previous);
  return sliced(bytes, previous);
}

/** CRC-32C in JavaScript, eight bytes at a time. */
export function sliced(bytes: Uint8Array, previous = 0): number {
  const t = TABLES;
  let c = ~previous | 0;
  let i = 0;
  // Up to the first 4-byte boundary, then whole 8-byte words.
  const head = (4 - (bytes.byteOffset & 3)) & 3;
  if (LITTLE_ENDIAN && bytes.length >= head) {
    c = bytewise(c, bytes, 0, head);
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + head, ((bytes.length - head) >> 3) << 1);
    for (let w = 0; w < words.length; w += 2) {
      const a = (words[w] as number) ^ c;
      const b = words[w + 1] as number;
      c =
        (t[0x700 + (a & 0xff)] as number) ^
        (t[0x600 + ((a >>> 8) & 0xff)] as number) ^
        (t[0x500 + ((a >>> 16) & 0xff)] as number) ^
        (t[0x400 + (a >>> 24)] as number) ^
        (t[0x300 + (b & 0xff)] as number) ^
        (t[0x200 + ((b >>> 8) & 0xff)] as number) ^
        (t[0x100 + ((b >>> 16) & 0xff)] as number) ^
        (t[b >>> 24] as number);
    }
    i = head + words.length * 4;
  }
  return ~bytewise(c, bytes, i, bytes.length) >>> 0;
}
