/**
 * Finding the runs of a memory's 4 KiB blocks that are all zeros, which a
 * snapshot leaves out, and a restore or a memory kept for reuse need not clear. A JavaScript loop over 32-bit words reads zeros at
 * about 7 GB/s (eight words per test), slower than copying the memory; the
 * WebAssembly kernel (`wat/zero-blocks.wat`) reads 16 MiB of zeros in about
 * 0.3 ms with SIMD. It imports the memory it scans, so each memory large
 * enough to be worth it gets an instance of its own (about 8 µs, once: a
 * memory of two pages of zeros took 11 µs with it, 20 µs in JavaScript);
 * smaller ones, and shared memories, are scanned in JavaScript.
 */
import { WASM_PAGE_BYTES } from '@ri-sandbox/core';
import { decodeBase64 } from './base64';
import { buildFor } from './kernels';
import { MEMORY_BLOCK_BYTES } from './state';
import { ZERO_BLOCKS_SCALAR, ZERO_BLOCKS_SIMD } from './zero-blocks-modules';

/**
 * The first block from `block` on, before `blocks`, that is all zeros
 * (`wantZero`) or is not; `blocks` if there is none.
 */
export type NextBlock = (block: number, blocks: number, wantZero: boolean) => number;

/** The smallest memory the kernel scans: below it, the JavaScript loop takes about what an instance costs. */
export const KERNEL_FROM_BYTES = 2 * WASM_PAGE_BYTES;

const WORDS_PER_BLOCK = MEMORY_BLOCK_BYTES >> 2;

/** {@link NextBlock} over `bytes` in JavaScript. A block that `bytes` ends inside counts as not zero. */
export function scanInScript(bytes: Uint8Array<ArrayBuffer>): NextBlock {
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  const isZero = (block: number): boolean => {
    const first = block * WORDS_PER_BLOCK;
    if (first + WORDS_PER_BLOCK > words.length) return false;
    // Eight words per test: twice as fast over zeros as one (7 against 3 GB/s), as fast over the rest.
    for (let w = first; w < first + WORDS_PER_BLOCK; w += 8) {
      const any =
        (words[w] as number) |
        (words[w + 1] as number) |
        (words[w + 2] as number) |
        (words[w + 3] as number) |
        (words[w + 4] as number) |
        (words[w + 5] as number) |
        (words[w + 6] as number) |
        (words[w + 7] as number);
      if (any !== 0) return false;
    }
    return true;
  };
  return (block, blocks, wantZero) => {
    while (block < blocks && isZero(block) !== wantZero) block++;
    return block;
  };
}

/** The kernel's export (see wat/zero-blocks.wat). */
interface Kernel {
  next(block: number, blocks: number, wantZero: number): number;
}

const BUILDS = { simd: ZERO_BLOCKS_SIMD, scalar: ZERO_BLOCKS_SCALAR } as const;

const modules = new Map<keyof typeof BUILDS, WebAssembly.Module>();

/** One build of the kernel, compiled once per thread. */
function kernelModule(build: keyof typeof BUILDS): WebAssembly.Module {
  let module = modules.get(build);
  if (module === undefined) {
    module = new WebAssembly.Module(decodeBase64(BUILDS[build]));
    modules.set(build, module);
  }
  return module;
}

/** {@link NextBlock} over the whole of `memory` (not shared), by a new instance of one build of the kernel. */
export function kernelScan(build: keyof typeof BUILDS, memory: WebAssembly.Memory): NextBlock {
  const kernel = new WebAssembly.Instance(kernelModule(build), { env: { memory } })
    .exports as unknown as Kernel;
  return (block, blocks, wantZero) => kernel.next(block, blocks, wantZero ? 1 : 0);
}

let build: keyof typeof BUILDS | undefined;

/** The kernel instance of each memory scanned so far. */
const kernels = new WeakMap<WebAssembly.Memory, NextBlock>();

/** The kernel that scans `memory`, made on first use: the SIMD build where the engine has SIMD. */
function kernelOf(memory: WebAssembly.Memory): NextBlock {
  let kernel = kernels.get(memory);
  if (kernel === undefined) {
    build ??= buildFor(BUILDS);
    kernel = kernelScan(build, memory);
    kernels.set(memory, kernel);
  }
  return kernel;
}

/**
 * {@link NextBlock} over the whole of `memory`: by the kernel if it is large
 * and not shared, and the engine compiles it (a Content-Security-Policy
 * without `wasm-unsafe-eval` refuses); in JavaScript otherwise.
 */
export function scanMemory(memory: WebAssembly.Memory): NextBlock {
  return kernelScanOf(memory) ?? scanInScript(new Uint8Array(memory.buffer));
}

/** The kernel's {@link NextBlock} over `memory`, if it is large and not shared and the engine compiles the kernel. */
function kernelScanOf(memory: WebAssembly.Memory): NextBlock | undefined {
  const { buffer } = memory;
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < KERNEL_FROM_BYTES) return undefined;
  try {
    return kernelOf(memory);
  } catch {
    return undefined;
  }
}

/**
 * A function that zeroes bytes `from` to `to` of `memory` (whose buffer `bytes` views): with
 * {@link zeroRange} where the kernel scans it, with a plain fill where a scan would not be faster
 * (small or shared memories, or no kernel).
 */
export function memoryZeroer(
  memory: WebAssembly.Memory,
  bytes: Uint8Array,
): (from: number, to: number) => void {
  const next = kernelScanOf(memory);
  if (next === undefined) return (from, to) => void bytes.fill(0, from, to);
  return (from, to) => {
    zeroRange(bytes, next, from, to);
  };
}

/**
 * Zeroes `bytes` (the whole of `memory`'s buffer) from `from` to `to`, writing only the 4 KiB blocks
 * that are not zero already (and the parts of blocks at either end): a scan reads zeros about three
 * times as fast as a fill writes them, and leaves the pages of memory nothing wrote untouched, where
 * a fill makes each one the process's own.
 */
export function zeroRange(bytes: Uint8Array, next: NextBlock, from: number, to: number): void {
  const first = Math.ceil(from / MEMORY_BLOCK_BYTES);
  const last = Math.floor(to / MEMORY_BLOCK_BYTES);
  if (first >= last) {
    bytes.fill(0, from, to);
    return;
  }
  bytes.fill(0, from, first * MEMORY_BLOCK_BYTES);
  for (let block = first; block < last;) {
    const written = next(block, last, false);
    if (written >= last) break;
    block = next(written, last, true);
    bytes.fill(0, written * MEMORY_BLOCK_BYTES, block * MEMORY_BLOCK_BYTES);
  }
  bytes.fill(0, last * MEMORY_BLOCK_BYTES, to);
}

/**
 * Makes every byte of `memory` zero, writing only the blocks that are not zero (see
 * {@link zeroRange}): how a kept memory is cleared before another instance takes it.
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 256 });
 * new Uint8Array(memory.buffer)[5 << 20] = 1;
 * zeroMemory(memory); // reads 16 MiB and writes 4 KiB
 * ```
 */
export function zeroMemory(memory: WebAssembly.Memory): void {
  const bytes = new Uint8Array(memory.buffer);
  memoryZeroer(memory, bytes)(0, bytes.length);
}

let warm = false;

/**
 * Compiles the kernel and runs it over a memory of one page, once per
 * thread, so that snapshots find it at full speed: JavaScriptCore runs a
 * module compiled after a large guest in its interpreter until the guest's
 * tier-up is done (see `warmUpXxh3`). `createWasmSandbox` calls it. Throws
 * what the engine throws if it refuses to compile.
 */
export function warmUpZeroBlocks(): void {
  if (warm) return;
  kernelOf(new WebAssembly.Memory({ initial: 1 }))(0, 16, true);
  warm = true;
}
