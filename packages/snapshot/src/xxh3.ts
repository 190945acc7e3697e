/**
 * XXH3-64 (xxHash 0.8, seed 0, default secret; Yann Collet's specification),
 * the checksum of WSNP version 4. Its eight 64-bit accumulators do not depend
 * on each other from one 64-byte stripe to the next, so WebAssembly SIMD runs
 * it at 12-20 GB/s in V8 and JavaScriptCore, where XXH32 in JavaScript runs at
 * about 4 GB/s.
 *
 * The kernel (`wat/xxh3.wat`) is one small module with a memory of its own,
 * compiled once per thread on first use; the input is copied through a 64 KiB
 * window in it. Engines without WebAssembly SIMD get a scalar build of the same
 * kernel, with the same results.
 */
import { XXH3_SCALAR, XXH3_SIMD } from './xxh3-modules';

/** Where the kernel's input window starts in its memory (the secret and accumulators are below). */
const WINDOW = 1024;
/** Whole blocks the window holds. */
const WINDOW_BLOCKS = 64;
const BLOCK_BYTES = 1024;
const STRIPE_BYTES = 64;
/** The longest input hashed in one call, without the accumulators. */
const SHORT_MAX = 240;

/** The kernel's exports (see wat/xxh3.wat). */
interface Kernel {
  readonly memory: WebAssembly.Memory;
  short(length: number): bigint;
  start(): void;
  blocks(count: number): void;
  finish(rest: number, length: number): bigint;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

const BUILDS = { simd: XXH3_SIMD, scalar: XXH3_SCALAR } as const;

/** The XXH3-64 function of one build of the kernel, in a module instance of its own. */
export function xxh3Kernel(build: keyof typeof BUILDS): (bytes: Uint8Array) => bigint {
  const kernel = new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(BUILDS[build])))
    .exports as unknown as Kernel;
  const memory = new Uint8Array(kernel.memory.buffer);
  return (bytes) => {
    const length = bytes.length;
    if (length <= SHORT_MAX) {
      memory.set(bytes, WINDOW);
      return BigInt.asUintN(64, kernel.short(length));
    }
    kernel.start();
    const blocks = Math.floor((length - 1) / BLOCK_BYTES);
    for (let block = 0; block < blocks; block += WINDOW_BLOCKS) {
      const count = Math.min(WINDOW_BLOCKS, blocks - block);
      memory.set(bytes.subarray(block * BLOCK_BYTES, (block + count) * BLOCK_BYTES), WINDOW);
      kernel.blocks(count);
    }
    // The last stripe is the input's last 64 bytes, which may begin in the last whole block.
    const tail = blocks * BLOCK_BYTES;
    const from = Math.max(0, tail - STRIPE_BYTES);
    memory.set(bytes.subarray(from, length), WINDOW - (tail - from));
    return BigInt.asUintN(64, kernel.finish(length - tail, length));
  };
}

let hash: ((bytes: Uint8Array) => bigint) | undefined;

/** This thread's XXH3-64 function: the SIMD build where the engine has SIMD. */
function kernel(): (bytes: Uint8Array) => bigint {
  hash ??= xxh3Kernel(WebAssembly.validate(decodeBase64(XXH3_SIMD)) ? 'simd' : 'scalar');
  return hash;
}

/**
 * The XXH3-64 of `bytes` (seed 0), as an unsigned 64-bit integer: the value
 * `xxhsum -H3` prints.
 *
 * @example
 * ```ts
 * xxh3(new TextEncoder().encode('abc')); // 0x78af5f94892f3950n
 * ```
 */
export function xxh3(bytes: Uint8Array): bigint {
  return kernel()(bytes);
}

let warm = false;

/**
 * Compiles this thread's XXH3 kernel and runs it over one 64 KiB window, once
 * per thread, so that snapshots find it at full speed. Call it before
 * compiling a large guest: JavaScriptCore (Bun, Safari) compiles a module
 * made after a large guest only once that guest's tier-up is done (9.6 s after
 * CRuby in Bun 1.4), and then runs it in its interpreter (7 ms a MiB instead
 * of 0.15). A 64 KiB run before the guest is enough. `createWasmSandbox` calls it.
 * Throws what the engine throws if it refuses to compile (a Content-Security-Policy
 * without `wasm-unsafe-eval`).
 */
export function warmUpXxh3(): void {
  if (warm) return;
  xxh3(new Uint8Array(WINDOW_BLOCKS * BLOCK_BYTES));
  warm = true;
}
