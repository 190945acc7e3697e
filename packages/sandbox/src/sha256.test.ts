import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256Now } from './sha256';
import { hex, sha256 } from './text';

const text = (s: string) => new TextEncoder().encode(s);

describe('sha256Now', () => {
  it('gives the FIPS 180-4 examples', () => {
    expect(hex(sha256Now(text('')))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(sha256Now(text('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hex(sha256Now(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it("agrees with Web Crypto on any bytes, across the padding's block boundaries and at any offset", async () => {
    const lengths = fc.oneof(
      fc.integer({ min: 0, max: 300 }),
      fc.constantFrom(55, 56, 63, 64, 119, 120, 128),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        lengths,
        fc.nat(7),
        async (seed, n, at) => {
          const bytes = new Uint8Array(n + at).map((_, i) => seed[i % Math.max(seed.length, 1)] ?? i);
          const view = bytes.subarray(at);
          const expected = new Uint8Array(await crypto.subtle.digest('SHA-256', view.slice()));
          expect(sha256Now(view)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is what sha256 gives, for small and large inputs alike', async () => {
    for (const size of [0, 4096, 4097, 70_000]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 131) & 255);
      expect(await sha256(bytes)).toEqual(sha256Now(bytes));
    }
  });
});
