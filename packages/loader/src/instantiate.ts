/** Instantiation: the `env` imports, a bounded memory, and the start function. */
import {
  type Result,
  type SandboxError,
  WASM_PAGE_BYTES,
  classifyTrap,
  err,
  ok,
  sandboxError,
} from '@ri-sandbox/core';
import type { CompiledModule } from './compile';
import { HOST_MODULE } from './link';
import { MEMORY_IMPORT } from './memory';
import type { MemoryPool } from './memory-pool';

/** A live instance and its linear memory (if it has one). */
export interface Instantiated {
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory | undefined;
}

/** The JavaScript callables to import, by import module and name: one per entry of `CompiledModule.hostImports`. */
export type ImportedFunctions = Readonly<
  Record<string, Readonly<Record<string, (...args: never[]) => unknown>>>
>;

function createMemory(
  compiled: CompiledModule,
  maxMemoryBytes: number,
  memories: MemoryPool | undefined,
): Result<WebAssembly.Memory, SandboxError> {
  const { initialPages, maximumPages } = compiled.memory;
  const kept = memories?.take(initialPages, maximumPages);
  if (kept !== undefined) return ok(kept);
  try {
    return ok(new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages }));
  } catch {
    // The engine could not reserve the memory (the host is out of address space or memories).
    return err(sandboxError.memoryExceeded(initialPages * WASM_PAGE_BYTES, maxMemoryBytes));
  }
}

/** The import object for `compiled`, and the memory created for it if it has one. */
function linkImports(
  compiled: CompiledModule,
  functions: ImportedFunctions,
  maxMemoryBytes: number,
  transformImports: WebAssembly.Imports,
  memories: MemoryPool | undefined,
): Result<{ imports: WebAssembly.Imports; memory: WebAssembly.Memory | undefined }, SandboxError> {
  const modules: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const { module, name } of compiled.hostImports) {
    const fn = functions[module]?.[name];
    if (fn === undefined)
      return err(sandboxError.invalidModule(`no function given for the import ${module}.${name}`));
    (modules[module] ??= {})[name] = fn;
  }
  const { source } = compiled.memory;
  if (source === 'none')
    return ok({ imports: Object.assign({}, transformImports, modules), memory: undefined });
  const created = createMemory(compiled, maxMemoryBytes, memories);
  if (!created.ok) return created;
  const memory = created.value;
  // A memory the module defines is imported under a name of the loader's (see `boundMemory`).
  const [module, name] =
    source === 'imported' ? [HOST_MODULE, 'memory'] : [MEMORY_IMPORT.module, MEMORY_IMPORT.name];
  (modules[module] ??= {})[name] = memory;
  return ok({ imports: Object.assign({}, transformImports, modules), memory });
}

function instantiationError(error: unknown): SandboxError {
  if (error instanceof WebAssembly.LinkError)
    return sandboxError.invalidModule(`cannot link: ${error.message}`);
  const trap = classifyTrap(error);
  return sandboxError.wasmTrap(trap.trapKind, `start function trapped: ${trap.message}`);
}

/**
 * Instantiates a compiled module with `functions` as its host imports and,
 * for a module with a memory, a memory bounded by the plan: one of
 * `memories` if it keeps one of that size and maximum, else a new one.
 * `transformImports` are the imports a transform added (its own modules,
 * never `env`). The start function, if any, runs here: a trap in it is `WASM_TRAP`.
 */
export async function instantiateModule(
  compiled: CompiledModule,
  functions: ImportedFunctions,
  maxMemoryBytes: number,
  transformImports: WebAssembly.Imports = {},
  memories?: MemoryPool,
): Promise<Result<Instantiated, SandboxError>> {
  const linked = linkImports(compiled, functions, maxMemoryBytes, transformImports, memories);
  if (!linked.ok) return linked;
  try {
    const instance = await WebAssembly.instantiate(compiled.module, linked.value.imports);
    return ok({ instance, memory: linked.value.memory });
  } catch (error) {
    return err(instantiationError(error));
  }
}

/**
 * {@link instantiateModule}, synchronously: for an instance that must be
 * rebuilt inside a synchronous call (a snapshot's restore). Engines allow
 * synchronous instantiation of an already compiled module on any thread.
 */
export function instantiateModuleSync(
  compiled: CompiledModule,
  functions: ImportedFunctions,
  maxMemoryBytes: number,
  transformImports: WebAssembly.Imports = {},
  memories?: MemoryPool,
): Result<Instantiated, SandboxError> {
  const linked = linkImports(compiled, functions, maxMemoryBytes, transformImports, memories);
  if (!linked.ok) return linked;
  try {
    const instance = new WebAssembly.Instance(compiled.module, linked.value.imports);
    return ok({ instance, memory: linked.value.memory });
  } catch (error) {
    return err(instantiationError(error));
  }
}
