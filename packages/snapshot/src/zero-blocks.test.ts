import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generate } from '../scripts/build-kernels.mjs';
import { nonZeroChunks } from './capture';
import { MEMORY_BLOCK_BYTES, type MemoryChunk } from './state';
import { KERNEL_FROM_BYTES, type NextBlock, kernelScan, scanInScript, scanMemory } from './zero-blocks';

const PAGE = 65536;
const BLOCKS_PER_PAGE = PAGE / MEMORY_BLOCK_BYTES;

/** Which blocks of `bytes` hold a byte that is not zero, one block at a time. */
function nonZeroBlocks(bytes: Uint8Array): boolean[] {
  return Array.from({ length: bytes.length / MEMORY_BLOCK_BYTES }, (_, b) =>
    bytes.subarray(b * MEMORY_BLOCK_BYTES, (b + 1) * MEMORY_BLOCK_BYTES).some((byte) => byte !== 0),
  );
}

/** Every block `next` finds not zero, found run by run as a capture does. */
function blocksFound(next: NextBlock, blocks: number): boolean[] {
  const found: boolean[] = Array.from({ length: blocks }, () => false);
  for (let first = next(0, blocks, false); first < blocks;) {
    const end = next(first + 1, blocks, true);
    for (let b = first; b < end; b++) found[b] = true;
    first = end < blocks ? next(end + 1, blocks, false) : blocks;
  }
  return found;
}

/** A memory of `pages` with a non-zero byte at each of `at`. */
function memoryWith(pages: number, at: readonly number[]): WebAssembly.Memory {
  const memory = new WebAssembly.Memory({ initial: pages });
  const bytes = new Uint8Array(memory.buffer);
  for (const i of at) bytes[i % bytes.length] = 1 + (i % 255);
  return memory;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('zero blocks', () => {
  it('finds the same blocks in both builds of the kernel, in JavaScript, and one by one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.nat(40 * BLOCKS_PER_PAGE), { maxLength: 4 }),
        (pages, bytesAt, wholeBlocks) => {
          const memory = memoryWith(pages, bytesAt);
          const bytes = new Uint8Array(memory.buffer);
          for (const b of wholeBlocks) {
            const start = (b * MEMORY_BLOCK_BYTES) % bytes.length;
            bytes.fill(7, start, start + MEMORY_BLOCK_BYTES);
          }
          const expected = nonZeroBlocks(bytes);
          const blocks = expected.length;
          expect(blocksFound(kernelScan('simd', memory), blocks)).toEqual(expected);
          expect(blocksFound(kernelScan('scalar', memory), blocks)).toEqual(expected);
          expect(blocksFound(scanInScript(bytes), blocks)).toEqual(expected);
          expect(blocksFound(scanMemory(memory), blocks)).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('sees a byte at either end of a block and of the memory', () => {
    for (const at of [0, 1, 4095, 4096, 8191, 16 * PAGE - 1, 16 * PAGE - 4096]) {
      const memory = memoryWith(16, [at]);
      const scans = [
        kernelScan('simd', memory),
        kernelScan('scalar', memory),
        scanMemory(memory),
        scanInScript(new Uint8Array(memory.buffer)),
      ];
      for (const next of scans) {
        expect(next(0, 256, false)).toBe(Math.floor(at / MEMORY_BLOCK_BYTES));
        expect(next(Math.floor(at / MEMORY_BLOCK_BYTES), 256, true)).toBe(
          Math.floor(at / MEMORY_BLOCK_BYTES) + 1,
        );
      }
    }
  });

  it('scans a memory that grew since its kernel was made, and gives the same chunks as the script', () => {
    const memory = memoryWith(16, [5 * MEMORY_BLOCK_BYTES]);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(KERNEL_FROM_BYTES);
    const before = scanMemory(memory);
    expect(blocksFound(before, 256).filter(Boolean)).toHaveLength(1);
    memory.grow(4);
    new Uint8Array(memory.buffer)[20 * PAGE - 1] = 9;
    const bytes = new Uint8Array(memory.buffer);
    const found = blocksFound(scanMemory(memory), bytes.length / MEMORY_BLOCK_BYTES);
    expect(found).toEqual(nonZeroBlocks(bytes));
    const chunks: MemoryChunk[] = nonZeroChunks(bytes);
    expect(chunks.map((c) => [c.offset, c.bytes.length])).toEqual([
      [5 * MEMORY_BLOCK_BYTES, MEMORY_BLOCK_BYTES],
      [20 * PAGE - MEMORY_BLOCK_BYTES, MEMORY_BLOCK_BYTES],
    ]);
  });

  it('scans in JavaScript a small memory, a shared one, and where the engine refuses to compile', () => {
    const instance = vi.spyOn(WebAssembly, 'Instance');
    const small = memoryWith(1, [100]);
    expect(blocksFound(scanMemory(small), 16)).toEqual(nonZeroBlocks(new Uint8Array(small.buffer)));
    const shared = new WebAssembly.Memory({ initial: 32, maximum: 32, shared: true });
    new Uint8Array(shared.buffer)[3 * PAGE] = 1;
    expect(blocksFound(scanMemory(shared), 512).indexOf(true)).toBe(3 * BLOCKS_PER_PAGE);
    expect(instance).not.toHaveBeenCalled();
    instance.mockImplementation(() => {
      throw new WebAssembly.CompileError('refused by the page');
    });
    const large = memoryWith(32, [7 * PAGE]);
    expect(blocksFound(scanMemory(large), 512).indexOf(true)).toBe(7 * BLOCKS_PER_PAGE);
  });

  it('is built from wat/zero-blocks.wat as committed (run `pnpm build:kernels` after editing it)', async () => {
    const committed = readFileSync(new URL('./zero-blocks-modules.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await generate('zeroBlocks'));
  });
});
