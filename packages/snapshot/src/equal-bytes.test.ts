import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generate } from '../scripts/build-kernels.mjs';
import {
  EQUAL_BYTES_WINDOW,
  KERNEL_FROM_LENGTH,
  equalBytes,
  equalBytesInScript,
  kernelEqual,
} from './equal-bytes';

afterEach(() => {
  vi.restoreAllMocks();
});

const COMPARERS = {
  simd: kernelEqual('simd'),
  scalar: kernelEqual('scalar'),
  script: equalBytesInScript,
  equalBytes,
};

/** Lengths at the edges of every path: the script's words, the kernel's 64-byte steps, its windows. */
const EDGE_LENGTHS = [0, 1, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, EQUAL_BYTES_WINDOW - 1];
EDGE_LENGTHS.push(EQUAL_BYTES_WINDOW, EQUAL_BYTES_WINDOW + 1, 2 * EQUAL_BYTES_WINDOW + 65);

/** `bytes` at offset `at` of a buffer of its own (`at` of 0 to 3: aligned or not). */
function placed(bytes: Uint8Array, at: number): Uint8Array {
  const buffer = new Uint8Array(bytes.length + 4);
  buffer.set(bytes, at);
  return buffer.subarray(at, at + bytes.length);
}

describe('equalBytes', () => {
  it('finds any byte that differs, aligned or not, in every build and in JavaScript', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 700 }),
          fc.constantFrom(...EDGE_LENGTHS).map((n) => new Uint8Array(n)),
        ),
        fc.nat(3),
        fc.nat(3),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, shift, where, change) => {
          for (let i = 0; i < bytes.length; i += 97) bytes[i] = (bytes[i] as number) ^ (i & 0xff);
          const left = placed(bytes, at);
          const right = placed(bytes, shift);
          for (const compare of Object.values(COMPARERS)) expect(compare(left, right)).toBe(true);
          if (bytes.length === 0) return;
          const flipped = where % bytes.length;
          right[flipped] = (right[flipped] as number) ^ change;
          for (const compare of Object.values(COMPARERS)) expect(compare(left, right)).toBe(false);
          right[flipped] = right[flipped] ^ change;
          expect(equalBytes(left.subarray(1), right)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds a difference in the last byte of every window of a long run', () => {
    const left = new Uint8Array(3 * EQUAL_BYTES_WINDOW + 100).map((_, i) => i * 7);
    for (const last of [EQUAL_BYTES_WINDOW - 1, 2 * EQUAL_BYTES_WINDOW - 1, left.length - 1]) {
      const right = left.slice();
      right[last] = (right[last] as number) ^ 0x80;
      expect(COMPARERS.simd(left, right)).toBe(false);
      expect(COMPARERS.scalar(left, right)).toBe(false);
    }
    expect(COMPARERS.simd(left, left.slice())).toBe(true);
  });

  it('tells runs apart by their last bytes, and by any other byte, however long', () => {
    const left = new Uint8Array(18_000).map((_, i) => i * 13);
    for (const at of [left.length - 1, left.length - 16, left.length - 17, 0, 9_000]) {
      const right = left.slice();
      right[at] = (right[at] as number) ^ 1;
      expect(equalBytes(left, right)).toBe(false);
    }
    expect(equalBytes(left, left.slice())).toBe(true);
  });

  it('compares in JavaScript where the engine refuses to compile the kernel, and short arrays always', async () => {
    vi.resetModules();
    const module = vi.spyOn(WebAssembly, 'Module').mockImplementation(() => {
      throw new WebAssembly.CompileError('refused by the page');
    });
    const fresh = await import('./equal-bytes');
    const long = new Uint8Array(KERNEL_FROM_LENGTH + 10).fill(3);
    expect(fresh.equalBytes(long, long.slice())).toBe(true);
    const other = long.slice();
    other[KERNEL_FROM_LENGTH + 9] = 4;
    expect(fresh.equalBytes(long, other)).toBe(false);
    expect(module).toHaveBeenCalledTimes(1);
    // The refusal is remembered: no second attempt.
    expect(fresh.equalBytes(long, other)).toBe(false);
    expect(module).toHaveBeenCalledTimes(1);
    fresh.warmUpEqualBytes();
    expect(module).toHaveBeenCalledTimes(1);
    module.mockClear();
    expect(fresh.equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(module).not.toHaveBeenCalled();
  });

  it('warms up by compiling and running the kernel once per thread', async () => {
    vi.resetModules();
    const module = vi.spyOn(WebAssembly, 'Module');
    const fresh = await import('./equal-bytes');
    fresh.warmUpEqualBytes();
    fresh.warmUpEqualBytes();
    const long = new Uint8Array(KERNEL_FROM_LENGTH).fill(1);
    expect(fresh.equalBytes(long, long.slice())).toBe(true);
    expect(module).toHaveBeenCalledTimes(1);
  });

  it('is built from wat/equal-bytes.wat as committed (run `pnpm build:kernels` after editing it)', async () => {
    const committed = readFileSync(new URL('./equal-bytes-modules.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await generate('equalBytes'));
  });
});
