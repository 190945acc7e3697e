/**
 * What the WebAssembly kernels share: their builds, and the choice between
 * them (see scripts/build-kernels.mjs).
 */
import { decodeBase64 } from '@ri-sandbox/core';

/** A kernel's two builds: with WebAssembly SIMD, and for engines without it (base64). */
export interface KernelBuilds {
  readonly simd: string;
  readonly scalar: string;
}

/** Which of a kernel's builds this engine runs: the SIMD one where it validates. */
export function buildFor(builds: KernelBuilds): keyof KernelBuilds {
  return WebAssembly.validate(decodeBase64(builds.simd)) ? 'simd' : 'scalar';
}
