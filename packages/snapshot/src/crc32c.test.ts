import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c';

/** The textbook bit-at-a-time CRC-32C, to check the sliced one against. */
function reference(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('crc32c', () => {
  it('gives the published check value and the RFC 3720 test vectors', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(new Uint8Array())).toBe(0);
  });

  it('matches the bit-at-a-time definition at every length and alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(7), (data, shift) => {
        const buffer = new Uint8Array(data.length + shift);
        buffer.set(data, shift);
        expect(crc32c(buffer.subarray(shift))).toBe(reference(data));
      }),
    );
  });

  it('continues over a split: crc(a ++ b) = crc(b, crc(a))', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        const joined = new Uint8Array(a.length + b.length);
        joined.set(a);
        joined.set(b, a.length);
        expect(crc32c(b, crc32c(a))).toBe(crc32c(joined));
      }),
    );
  });

  it('matches the definition over large inputs, at any alignment and continuation', () => {
    const big = new Uint8Array(300_013);
    for (let i = 0; i < big.length; i++) big[i] = (Math.imul(i, 2654435761) >>> 24) ^ (i & 0xff);
    expect(crc32c(big)).toBe(reference(big));
    fc.assert(
      fc.property(fc.nat(200_000), fc.nat(15), fc.nat(99_983), (length, shift, split) => {
        const data = big.subarray(shift, shift + length);
        const cut = Math.min(split, data.length);
        expect(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut)))).toBe(reference(data));
      }),
      { numRuns: 20 },
    );
  });
});
