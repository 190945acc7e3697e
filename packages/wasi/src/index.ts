/**
 * `@ri-sandbox/wasi`: WASI preview 1 (`wasi_snapshot_preview1`), every
 * function, over a virtual in-memory file system, deterministic: clocks run on
 * virtual time, randomness comes from a seeded generator, output is captured
 * and capped, and the whole state can be saved and restored.
 *
 * @packageDocumentation
 */
export type { WasiConfig, ResolvedWasiConfig } from '@ri-sandbox/core';
export { resolveWasiConfig } from '@ri-sandbox/core';
export type { WasiHost, WasiOutput } from './wasi';
export { Wasi, WASI_STREAM } from './wasi';
export { WasiExit, WasiRaise } from './calls/process';
export { WASI_FUNCTIONS, WASI_MODULE, Errno } from './abi';
export { WASI_STATE_VERSION } from './serialize';
