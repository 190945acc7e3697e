/**
 * Bounding linear memory by `maxMemoryBytes`, for both shapes compilers emit:
 * a memory imported as `env.memory`, and a memory the module defines itself.
 */
import {
  type Export,
  type Limits,
  type SandboxError,
  type Result,
  type WasmModule,
  WASM_PAGE_BYTES,
  err,
  ok,
  pagesForBytes,
  sandboxError,
} from '@ri-sandbox/core';

/** Reserved export name under which the loader exposes a defined memory the module does not export. */
export const MEMORY_EXPORT = '__ri_sandbox_memory';

/** How an instance's memory is provided and bounded. */
export interface MemoryPlan {
  readonly source: 'imported' | 'defined' | 'none';
  readonly initialPages: number;
  /** The enforced maximum: the module's own maximum clamped to the limit. */
  readonly maximumPages: number;
  /** For a defined memory: the export through which the host reaches it. */
  readonly exportName?: string | undefined;
}

/** The planned memory and the module rewritten to obey it. */
export interface BoundedModule {
  readonly module: WasmModule;
  readonly plan: MemoryPlan;
  /** Whether `module` differs from the input and must be re-encoded. */
  readonly changed: boolean;
}

function checkInitial(limits: Limits, limitPages: number, maxMemoryBytes: number): SandboxError | undefined {
  if (limits.shared === true)
    return sandboxError.invalidModule('shared memories (threads) are not supported');
  if (limits.min > limitPages)
    return sandboxError.memoryExceeded(limits.min * WASM_PAGE_BYTES, maxMemoryBytes);
  return undefined;
}

/**
 * Plans memory for `module` under `maxMemoryBytes`: the maximum becomes
 * `min(declared maximum, ceil(maxMemoryBytes / 64 KiB))` pages; a memory whose
 * initial size already exceeds the limit is refused with `MEMORY_EXCEEDED`. A
 * defined memory that is not exported gets a reserved export, so the host can
 * measure it and exchange JSON through it.
 */
export function boundMemory(module: WasmModule, maxMemoryBytes: number): Result<BoundedModule, SandboxError> {
  const limitPages = pagesForBytes(maxMemoryBytes);
  const imported = module.imports.find((imp) => imp.descriptor.kind === 'memory');
  if (imported?.descriptor.kind === 'memory') {
    const limits = imported.descriptor.memory;
    const problem = checkInitial(limits, limitPages, maxMemoryBytes);
    if (problem !== undefined) return err(problem);
    const maximumPages = Math.min(limits.max ?? limitPages, limitPages);
    return ok({
      module,
      changed: false,
      plan: { source: 'imported', initialPages: limits.min, maximumPages },
    });
  }
  const defined = module.memories[0];
  if (defined === undefined) {
    return ok({ module, changed: false, plan: { source: 'none', initialPages: 0, maximumPages: 0 } });
  }
  const problem = checkInitial(defined, limitPages, maxMemoryBytes);
  if (problem !== undefined) return err(problem);
  const maximumPages = Math.min(defined.max ?? limitPages, limitPages);
  const existing = module.exports.find((e) => e.kind === 'memory' && e.index === 0);
  const exportName = existing?.name ?? MEMORY_EXPORT;
  const exports: readonly Export[] =
    existing === undefined
      ? [...module.exports, { name: MEMORY_EXPORT, kind: 'memory', index: 0 }]
      : module.exports;
  const clamped = defined.max !== maximumPages;
  const memories = clamped
    ? [{ min: defined.min, max: maximumPages }, ...module.memories.slice(1)]
    : module.memories;
  return ok({
    module: Object.assign({}, module, { memories, exports }),
    changed: clamped || existing === undefined,
    plan: { source: 'defined', initialPages: defined.min, maximumPages, exportName },
  });
}
