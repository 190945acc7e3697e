/**
 * Finding the runs of a memory's 4 KiB blocks that are all zeros, which a
 * snapshot leaves out. A JavaScript loop over 32-bit words reads zeros at
 * about 7 GB/s (eight words per test), slower than copying the memory; the
 * WebAssembly kernel (`wat/zero-blocks.wat`) reads 16 MiB of zeros in about
 * 0.3 ms with SIMD. It imports the memory it scans, so each memory large
 * enough to be worth it gets an instance of its own (about 8 µs, once: a
 * memory of two pages of zeros took 11 µs with it, 20 µs in JavaScript);
 * smaller ones, and shared memories, are scanned in JavaScript.
 */
import { WASM_PAGE_BYTES, decodeBase64 } from '@ri-sandbox/core';
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
  const { buffer } = memory;
  if (buffer instanceof ArrayBuffer && buffer.byteLength >= KERNEL_FROM_BYTES) {
    try {
      return kernelOf(memory);
    } catch {
      // Scanned in JavaScript below.
    }
  }
  return scanInScript(new Uint8Array(buffer));
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
