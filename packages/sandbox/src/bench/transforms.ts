/**
 * What a sandbox load does to a module before compiling it, as one call for
 * benchmarks: decoding, the determinism policy, every transform, encoding.
 */
import {
  DEFAULT_CONFIG,
  type Result,
  type SandboxError,
  decodeModule,
  encodeModule,
  err,
  ok,
  pagesForBytes,
} from '@ri-sandbox/core';
import { DEFAULT_COST_MODEL } from '@ri-sandbox/metering';
import { instrumentForSandbox } from '../transforms';

/**
 * `bytes` transformed as a sandbox with the default options and config loads them, into the
 * buffer a load writes its own into: valid until the next call, or the next load.
 * @throws WasmDecodeError on bytes that are not a module.
 */
export function transformForLoad(bytes: Uint8Array): Result<Uint8Array, SandboxError> {
  const instrumented = instrumentForSandbox(decodeModule(bytes), {
    costs: DEFAULT_COST_MODEL,
    memoryLimitPages: pagesForBytes(DEFAULT_CONFIG.maxMemoryBytes),
    memoryGrowFailure: 'trap',
    maxCallDepth: DEFAULT_CONFIG.maxCallDepth,
    canonicalizeNaNs: true,
  });
  return instrumented.ok
    ? ok(encodeModule(instrumented.value.module, { transient: true }))
    : err(instrumented.error);
}
