import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generate } from '../scripts/build-kernels.mjs';
import { xxh3, xxh3Kernel } from './xxh3';

/** `length` bytes from a linear congruential generator (the ones the reference values were taken of). */
function noise(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = 12345;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

const builds = { simd: xxh3Kernel('simd'), scalar: xxh3Kernel('scalar') };
const input = noise((1 << 20) + 3);

describe('XXH3-64', () => {
  // Every value below is what xxhsum 0.8.1 prints (`xxhsum -H3`) for the same bytes.
  const reference: [length: number, hash: bigint][] = [
    [0, 0x2d06800538d394c2n],
    [1, 0xd2de72a4d9c45f4cn],
    [3, 0x31832e6846d4829an],
    [4, 0xcd4baa731d039424n],
    [8, 0xc5d91cbc25be34a8n],
    [9, 0x4f13f971d7f92e54n],
    [16, 0x7d68a315d1e6f802n],
    [17, 0x8ad9c1aeb298622dn],
    [128, 0x78ba6b57d2adddf3n],
    [129, 0x9b0f8256a65edca5n],
    [240, 0xbf8eddb1d914cd16n],
    [241, 0xfd3b51beb2576ba2n],
    [1024, 0xa9f8520268858564n],
    [1025, 0xc07d9caece98a5dbn],
    [65537, 0x30b8e14f590a935cn],
    [1 << 20, 0x4ab965d5b9af2ab9n],
    [(1 << 20) + 3, 0xadb91bf6f009875bn],
  ];

  for (const [name, stream] of Object.entries(builds)) {
    const hash = (bytes: Uint8Array) => stream.hash(bytes);
    it(`gives the reference implementation's values at the edges of every path (${name} build)`, () => {
      for (const [length, expected] of reference) expect(hash(input.subarray(0, length))).toBe(expected);
      expect(hash(new TextEncoder().encode('abc'))).toBe(0x78af5f94892f3950n);
    });

    it(`gives the reference implementation's value at every length from 0 to 2099 (${name} build)`, () => {
      // The 2100 hashes, little-endian one after the other, then hashed: xxhsum gives 8be42586e68a8fbe.
      const all = new DataView(new ArrayBuffer(2100 * 8));
      for (let length = 0; length < 2100; length++)
        all.setBigUint64(length * 8, hash(input.subarray(0, length)), true);
      expect(hash(new Uint8Array(all.buffer))).toBe(0x8be42586e68a8fben);
    });
  }

  it('is the same in both builds, at any alignment and across the 64 KiB window', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 65_000, max: 140_000 }).map(noise)),
        fc.nat(15),
        (bytes, at) => {
          const shifted = new Uint8Array(bytes.length + 16);
          shifted.set(bytes, at);
          const view = shifted.subarray(at, at + bytes.length);
          expect(builds.scalar.hash(view)).toBe(builds.simd.hash(bytes));
          expect(xxh3(view)).toBe(builds.simd.hash(bytes));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives the same value for bytes given in pieces as for the whole, in both builds', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 65_000, max: 200_000 })),
        fc.array(fc.oneof(fc.nat(300), fc.nat(70_000)), { maxLength: 8 }),
        (length, cuts) => {
          const bytes = input.subarray(0, length);
          const at = [...new Set([0, ...cuts.map((c) => Math.min(c, length)), length])].sort((a, b) => a - b);
          for (const stream of Object.values(builds)) {
            stream.reset();
            for (let i = 1; i < at.length; i++) stream.update(bytes.subarray(at[i - 1], at[i]));
            expect(stream.digest()).toBe(xxh3(bytes));
          }
        },
      ),
      { numRuns: 80 },
    );
    // A piece that ends the window exactly, then one byte, then nothing more: each edge of the window.
    for (const length of [65_536, 65_537, 65_536 + 63, 65_536 + 64, 65_536 + 65, 131_072, 131_073]) {
      const stream = builds.simd;
      stream.reset();
      stream.update(input.subarray(0, 65_536));
      stream.update(input.subarray(65_536, length));
      expect(stream.digest()).toBe(builds.scalar.hash(input.subarray(0, length)));
    }
  });

  it('changes with any single bit of the input', () => {
    const bytes = noise(5000);
    const before = xxh3(bytes);
    for (const at of [0, 63, 64, 1023, 1024, 4999]) {
      for (let bit = 0; bit < 8; bit += 3) {
        const flipped = bytes.slice();
        flipped[at] = (flipped[at] as number) ^ (1 << bit);
        expect(xxh3(flipped)).not.toBe(before);
      }
    }
  });

  it('is built from wat/xxh3.wat as committed (run `pnpm build:kernels` after editing it)', async () => {
    const committed = readFileSync(new URL('./xxh3-modules.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await generate('xxh3'));
  });
});
