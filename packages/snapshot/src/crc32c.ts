/**
 * CRC-32C (Castagnoli, the checksum of iSCSI, ext4 and SSE4.2's `crc32`
 * instruction): reflected polynomial 0x82F63B78, initial value and final XOR
 * 0xFFFFFFFF, sixteen bytes at a time ("slicing-by-16") in JavaScript.
 *
 * Plain JavaScript on purpose. A WebAssembly kernel was a fifth faster in V8,
 * but an engine's WebAssembly compiler is shared with the guests: in
 * JavaScriptCore (Bun, Safari), after a large guest such as ruby.wasm, the
 * kernel waited behind the guest's tier-up for a hundred seconds, and then
 * ran in the interpreter, twenty times slower than this loop.
 */

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
  const t = TABLES;
  let c = ~previous | 0;
  let i = 0;
  // Up to the first 4-byte boundary, then whole 16-byte blocks as four words, then the rest.
  const head = (4 - (bytes.byteOffset & 3)) & 3;
  if (LITTLE_ENDIAN && bytes.length >= head) {
    c = bytewise(c, bytes, 0, head);
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + head, ((bytes.length - head) >> 4) << 2);
    for (let w = 0; w < words.length; w += 4) {
      const a = (words[w] as number) ^ c;
      const b = words[w + 1] as number;
      const d = words[w + 2] as number;
      const e = words[w + 3] as number;
      c =
        (t[0xf00 + (a & 0xff)] as number) ^
        (t[0xe00 + ((a >>> 8) & 0xff)] as number) ^
        (t[0xd00 + ((a >>> 16) & 0xff)] as number) ^
        (t[0xc00 + (a >>> 24)] as number) ^
        (t[0xb00 + (b & 0xff)] as number) ^
        (t[0xa00 + ((b >>> 8) & 0xff)] as number) ^
        (t[0x900 + ((b >>> 16) & 0xff)] as number) ^
        (t[0x800 + (b >>> 24)] as number) ^
        (t[0x700 + (d & 0xff)] as number) ^
        (t[0x600 + ((d >>> 8) & 0xff)] as number) ^
        (t[0x500 + ((d >>> 16) & 0xff)] as number) ^
        (t[0x400 + (d >>> 24)] as number) ^
        (t[0x300 + (e & 0xff)] as number) ^
        (t[0x200 + ((e >>> 8) & 0xff)] as number) ^
        (t[0x100 + ((e >>> 16) & 0xff)] as number) ^
        (t[e >>> 24] as number);
    }
    i = head + words.length * 4;
  }
  return ~bytewise(c, bytes, i, bytes.length) >>> 0;
}
