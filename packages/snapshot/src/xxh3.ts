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
import { decodeBase64 } from '@ri-sandbox/core';
import { buildFor } from './kernels';
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

const BUILDS = { simd: XXH3_SIMD, scalar: XXH3_SCALAR } as const;

/** Bytes the window holds. */
const WINDOW_BYTES = WINDOW_BLOCKS * BLOCK_BYTES;

/**
 * XXH3-64 of bytes given in pieces, on one instance of the kernel: `digest`
 * gives the `xxh3` of everything `update` was given since `reset`. Pieces
 * are copied into the kernel's window, and its whole blocks hashed when it
 * is full and more bytes come, so that a writer can hash what it wrote while
 * it is still in the cache. One hash at a time per stream.
 */
export class Xxh3Stream {
  private readonly memory: Uint8Array;
  /** Bytes in the window not hashed yet. */
  private filled = 0;
  /** Bytes given since `reset`. */
  private total = 0;
  /** Whether the accumulators are set up (some blocks were hashed). */
  private started = false;

  constructor(private readonly kernel: Kernel) {
    this.memory = new Uint8Array(kernel.memory.buffer);
  }

  /** Starts a new hash. */
  reset(): void {
    this.filled = 0;
    this.total = 0;
    this.started = false;
  }

  /** Adds `bytes` to the hash. */
  update(bytes: Uint8Array): void {
    const length = bytes.length;
    for (let at = 0; at < length;) {
      if (this.filled === WINDOW_BYTES) this.hashWindow();
      const count = Math.min(WINDOW_BYTES - this.filled, length - at);
      this.memory.set(count === length ? bytes : bytes.subarray(at, at + count), WINDOW + this.filled);
      this.filled += count;
      at += count;
    }
    this.total += length;
  }

  /** The XXH3-64 of every byte given since `reset`, as an unsigned 64-bit integer. */
  digest(): bigint {
    const { kernel, filled, total } = this;
    if (total <= SHORT_MAX) return BigInt.asUintN(64, kernel.short(total));
    this.start();
    // The last block, whole or not, is hashed by `finish`, with the stripe before it just below the window.
    const blocks = Math.floor((filled - 1) / BLOCK_BYTES);
    if (blocks > 0) {
      kernel.blocks(blocks);
      const tail = WINDOW + blocks * BLOCK_BYTES;
      this.memory.copyWithin(WINDOW - STRIPE_BYTES, tail - STRIPE_BYTES, WINDOW + filled);
    }
    return BigInt.asUintN(64, kernel.finish(filled - blocks * BLOCK_BYTES, total));
  }

  /** The XXH3-64 of `bytes` alone. */
  hash(bytes: Uint8Array): bigint {
    this.reset();
    this.update(bytes);
    return this.digest();
  }

  private start(): void {
    if (!this.started) this.kernel.start();
    this.started = true;
  }

  /** Hashes the full window (more bytes follow), keeping its last stripe just below it for `finish`. */
  private hashWindow(): void {
    this.start();
    this.kernel.blocks(WINDOW_BLOCKS);
    this.memory.copyWithin(
      WINDOW - STRIPE_BYTES,
      WINDOW + WINDOW_BYTES - STRIPE_BYTES,
      WINDOW + WINDOW_BYTES,
    );
    this.filled = 0;
  }
}

/** A stream on an instance of its own of one build of the kernel. */
export function xxh3Kernel(build: keyof typeof BUILDS): Xxh3Stream {
  const module = new WebAssembly.Module(decodeBase64(BUILDS[build]));
  return new Xxh3Stream(new WebAssembly.Instance(module).exports as unknown as Kernel);
}

let stream: Xxh3Stream | undefined;

/** This thread's stream: the SIMD build where the engine has SIMD. */
export function xxh3Stream(): Xxh3Stream {
  stream ??= xxh3Kernel(buildFor(BUILDS));
  return stream;
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
  return xxh3Stream().hash(bytes);
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
