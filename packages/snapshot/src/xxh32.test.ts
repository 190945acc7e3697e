import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xxh32 } from './xxh32';

const text = (value: string) => new TextEncoder().encode(value);
/** `length` bytes of a simple pattern: byte i is (i * step + add) mod 256. */
const pattern = (length: number, step: number, add = 0) =>
  Uint8Array.from({ length }, (_, i) => (i * step + add) & 0xff);

describe('XXH32', () => {
  it("gives the reference implementation's values (xxhsum -H0, and the specification's examples)", () => {
    expect(xxh32(new Uint8Array())).toBe(0x02cc5d05);
    expect(xxh32(text('a'))).toBe(0x550d7456);
    expect(xxh32(text('abc'))).toBe(0x32d153ff);
    expect(xxh32(text('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f);
    expect(xxh32(new Uint8Array(1000).fill(0x78))).toBe(0x73bcd817);
    expect(xxh32(pattern(100_003, 31))).toBe(0xf02e3420);
    expect(xxh32(pattern(17, 7, 3))).toBe(0x450e5f84);
  });

  it('is the same over bytes at any alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(7), (bytes, at) => {
        const shifted = new Uint8Array(bytes.length + 8);
        shifted.set(bytes, at);
        expect(xxh32(shifted.subarray(at, at + bytes.length))).toBe(xxh32(bytes));
      }),
    );
  });

  it('changes with any single flipped bit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.nat(), (bytes, bit) => {
        const flipped = bytes.slice();
        const at = bit % (bytes.length * 8);
        flipped[at >> 3] = (flipped[at >> 3] as number) ^ (1 << (at & 7));
        expect(xxh32(flipped)).not.toBe(xxh32(bytes));
      }),
    );
  });
});
