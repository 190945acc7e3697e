/**
 * Whether two byte arrays hold the same bytes, at memory speed from the first
 * call: a cached load compares the module it is given with the copy its cache
 * kept, and a JavaScript loop over 18 KB took 57 to 138 µs in V8's first
 * tiers (the first few dozen calls of a process), 3 to 5 µs once optimised.
 * The kernel (`wat/equal-bytes.wat`) is given both runs in 64 KiB windows of
 * its memory: 18 KB in about 1 µs, from its second call. Short arrays, and any
 * when the engine refuses to compile the kernel, are compared in JavaScript.
 */
import { decodeBase64 } from '@ri-sandbox/core';
import { EQUAL_BYTES_SCALAR, EQUAL_BYTES_SIMD } from './equal-bytes-modules';
import { type KernelBuilds, buildFor } from './kernels';

/** Bytes of each run the kernel compares at once (its memory holds two, and a page to spare). */
export const EQUAL_BYTES_WINDOW = 1 << 16;

/** Below this length the kernel's call and copies cost more than a loop: compared in JavaScript. */
export const KERNEL_FROM_LENGTH = 256;

/** Bytes at the end of a long run compared on their own, before the rest. */
const TAIL_FIRST = 16;

const BUILDS: KernelBuilds = { simd: EQUAL_BYTES_SIMD, scalar: EQUAL_BYTES_SCALAR };

/** The kernel's exports (see wat/equal-bytes.wat). */
interface Kernel {
  readonly memory: WebAssembly.Memory;
  equal(length: number): number;
}

/** Byte comparison through one build of the kernel, on an instance of its own. */
export function kernelEqual(build: keyof KernelBuilds): (a: Uint8Array, b: Uint8Array) => boolean {
  const module = new WebAssembly.Module(decodeBase64(BUILDS[build]));
  const kernel = new WebAssembly.Instance(module).exports as unknown as Kernel;
  const memory = new Uint8Array(kernel.memory.buffer);
  return (a, b) => {
    if (a.length !== b.length) return false;
    for (let at = 0; at < a.length; at += EQUAL_BYTES_WINDOW) {
      const end = Math.min(at + EQUAL_BYTES_WINDOW, a.length);
      const whole = at === 0 && end === a.length;
      memory.set(whole ? a : a.subarray(at, end), 0);
      memory.set(whole ? b : b.subarray(at, end), end - at);
      if (kernel.equal(end - at) !== 1) return false;
    }
    return true;
  };
}

/**
 * Whether `a` and `b` hold the same bytes, in JavaScript: by 32-bit words where both are long and
 * aligned, eight words to a test (18 KB took 5.1 µs a word at a time, 3.4 µs eight at a time, once
 * optimised).
 */
export function equalBytesInScript(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  // Below 64 bytes V8 keeps an array on its heap, and asking for its `buffer` moves it out.
  if (a.length >= 64 && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2;
    const wa = new Int32Array(a.buffer, a.byteOffset, words);
    const wb = new Int32Array(b.buffer, b.byteOffset, words);
    let w = 0;
    for (; w + 8 <= words; w += 8) {
      const differ =
        ((wa[w] as number) ^ (wb[w] as number)) |
        ((wa[w + 1] as number) ^ (wb[w + 1] as number)) |
        ((wa[w + 2] as number) ^ (wb[w + 2] as number)) |
        ((wa[w + 3] as number) ^ (wb[w + 3] as number)) |
        ((wa[w + 4] as number) ^ (wb[w + 4] as number)) |
        ((wa[w + 5] as number) ^ (wb[w + 5] as number)) |
        ((wa[w + 6] as number) ^ (wb[w + 6] as number)) |
        ((wa[w + 7] as number) ^ (wb[w + 7] as number));
      if (differ !== 0) return false;
    }
    for (; w < words; w++) if (wa[w] !== wb[w]) return false;
    i = words * 4;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** This thread's kernel comparison, made on first use; `null` once the engine refused to compile it. */
let kernel: ((a: Uint8Array, b: Uint8Array) => boolean) | null | undefined;

/** This thread's kernel comparison, made once; `undefined` where the engine refuses to compile it. */
function kernelOfThread(): ((a: Uint8Array, b: Uint8Array) => boolean) | undefined {
  if (kernel === undefined) {
    try {
      kernel = kernelEqual(buildFor(BUILDS));
    } catch {
      kernel = null;
    }
  }
  return kernel ?? undefined;
}

/**
 * Compiles this thread's comparison kernel and runs it once, so that a cached
 * load finds it at full speed: JavaScriptCore compiles a module made after a
 * large guest only once that guest's tier-up is done, and then runs it in its
 * interpreter (see `warmUpXxh3`). `createWasmSandbox` calls it. Where the
 * engine refuses to compile the kernel, comparisons stay in JavaScript.
 */
export function warmUpEqualBytes(): void {
  const window = new Uint8Array(KERNEL_FROM_LENGTH);
  kernelOfThread()?.(window, window);
}

/**
 * Whether `a` and `b` hold the same bytes. Arrays of 256 bytes or more are
 * compared by a WebAssembly kernel (SIMD where the engine has it), shorter
 * ones, and any where the engine refuses to compile the kernel (a
 * Content-Security-Policy without `wasm-unsafe-eval`), in JavaScript.
 *
 * @example
 * ```ts
 * equalBytes(new Uint8Array([1, 2, 3]), Uint8Array.of(1, 2, 3)); // true
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  const { length } = a;
  if (length !== b.length) return false;
  if (length < KERNEL_FROM_LENGTH) return equalBytesInScript(a, b);
  // The last bytes first: two modules of one length often differ only there (a custom section
  // appended, a build's id), and a difference found there costs no copy into the kernel (9 µs of an
  // 18 KB module's 10 µs comparison).
  for (let i = length - TAIL_FIRST; i < length; i++) if (a[i] !== b[i]) return false;
  const compare = kernelOfThread();
  return compare === undefined ? equalBytesInScript(a, b) : compare(a, b);
}
