/**
 * Bounding linear memory by `maxMemoryBytes`, for both shapes compilers emit:
 * a memory imported as `env.memory`, and a memory the module defines itself.
 */
import {
  type Import,
  type Limits,
  type SandboxError,
  type Result,
  type WasmModule,
  derivedModule,
  MAX_WASM_PAGES,
  WASM_PAGE_BYTES,
  err,
  ok,
  pagesForBytes,
  sandboxError,
} from '@ri-sandbox/core';

/**
 * The import under which a module that defines its memory receives it instead: the host creates
 * every instance's memory, so that it may reuse one (see `MemoryPool`). Its own module, not `env`,
 * so that it cannot meet an import of the guest's.
 */
export const MEMORY_IMPORT = { module: '__ri_sandbox', name: 'memory' } as const;

/** How an instance's memory is provided and bounded. */
export interface MemoryPlan {
  /** How the module declares it: imported as `env.memory`, defined (then imported as {@link MEMORY_IMPORT}), or none. */
  readonly source: 'imported' | 'defined' | 'none';
  readonly initialPages: number;
  /** The enforced maximum: the module's own maximum clamped to the limit. */
  readonly maximumPages: number;
}

/** The planned memory and the module rewritten to obey it. */
export interface BoundedModule {
  readonly module: WasmModule;
  readonly plan: MemoryPlan;
  /** Whether `module` differs from the input and must be re-encoded. */
  readonly changed: boolean;
}

/** Whether the limits are valid: at most 4 GiB, the minimum no greater than the maximum. */
function validLimits({ min, max }: Limits): boolean {
  return min <= MAX_WASM_PAGES && (max === undefined || (min <= max && max <= MAX_WASM_PAGES));
}

/**
 * Why the memory `limits` declare cannot be bounded, if they cannot: they are
 * checked here, not only by the engine, since the bound given in their place
 * would make invalid limits valid.
 */
function checkInitial(limits: Limits, limitPages: number, maxMemoryBytes: number): SandboxError | undefined {
  if (limits.shared === true)
    return sandboxError.invalidModule('shared memories (threads) are not supported');
  if (!validLimits(limits))
    return sandboxError.invalidModule(
      `invalid memory limits: ${limits.min} to ${limits.max ?? 'no maximum'} pages (at most ${MAX_WASM_PAGES}, the minimum no greater than the maximum)`,
    );
  if (limits.min > limitPages)
    return sandboxError.memoryExceeded(limits.min * WASM_PAGE_BYTES, maxMemoryBytes);
  return undefined;
}

/**
 * Plans memory for `module` under `maxMemoryBytes`: the maximum becomes
 * `min(declared maximum, ceil(maxMemoryBytes / 64 KiB))` pages; a memory whose
 * initial size already exceeds the limit is refused with `MEMORY_EXCEEDED`. A
 * defined memory becomes an import of {@link MEMORY_IMPORT} with the same
 * limits, the maximum clamped: instances then start with the same memory as
 * before (zeros, then the data segments), one the host provides.
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
  // Appended: memory imports take no function index. Engines without multi-memory refuse a second
  // memory, so the module has no other.
  const memoryImport: Import = {
    module: MEMORY_IMPORT.module,
    name: MEMORY_IMPORT.name,
    descriptor: { kind: 'memory', memory: Object.assign({}, defined, { max: maximumPages }) },
  };
  return ok({
    module: derivedModule(module, {
      memories: module.memories.slice(1),
      imports: [...module.imports, memoryImport],
    }),
    changed: true,
    plan: { source: 'defined', initialPages: defined.min, maximumPages },
  });
}
