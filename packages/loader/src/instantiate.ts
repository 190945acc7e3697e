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
): Result<WebAssembly.Memory, SandboxError> {
  const { initialPages, maximumPages } = compiled.memory;
  try {
    return ok(new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages }));
  } catch {
    // The engine could not reserve the memory (the host is out of address space or memories).
    return err(sandboxError.memoryExceeded(initialPages * WASM_PAGE_BYTES, maxMemoryBytes));
  }
}

/** The import object for `compiled`, and the memory created for it if the module imports one. */
function linkImports(
  compiled: CompiledModule,
  functions: ImportedFunctions,
  maxMemoryBytes: number,
  transformImports: WebAssembly.Imports,
): Result<{ imports: WebAssembly.Imports; memory: WebAssembly.Memory | undefined }, SandboxError> {
  const modules: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const { module, name } of compiled.hostImports) {
    const fn = functions[module]?.[name];
    if (fn === undefined)
      return err(sandboxError.invalidModule(`no function given for the import ${module}.${name}`));
    (modules[module] ??= {})[name] = fn;
  }
  let memory: WebAssembly.Memory | undefined;
  if (compiled.memory.source === 'imported') {
    const created = createMemory(compiled, maxMemoryBytes);
    if (!created.ok) return created;
    memory = created.value;
    (modules[HOST_MODULE] ??= {})['memory'] = memory;
  }
  return ok({ imports: Object.assign({}, transformImports, modules), memory });
}

function instantiationError(error: unknown): SandboxError {
  if (error instanceof WebAssembly.LinkError)
    return sandboxError.invalidModule(`cannot link: ${error.message}`);
  const trap = classifyTrap(error);
  return sandboxError.wasmTrap(trap.trapKind, `start function trapped: ${trap.message}`);
}

function instantiated(
  compiled: CompiledModule,
  instance: WebAssembly.Instance,
  imported: WebAssembly.Memory | undefined,
): Instantiated {
  const exportName = compiled.memory.exportName;
  const exported = exportName === undefined ? undefined : instance.exports[exportName];
  return { instance, memory: exported instanceof WebAssembly.Memory ? exported : imported };
}

/**
 * Instantiates a compiled module with `functions` as its host imports and,
 * for a module that imports `env.memory`, a new memory bounded by the plan.
 * `transformImports` are the imports a transform added (its own modules,
 * never `env`). The start function, if any, runs here: a trap in it is `WASM_TRAP`.
 */
export async function instantiateModule(
  compiled: CompiledModule,
  functions: ImportedFunctions,
  maxMemoryBytes: number,
  transformImports: WebAssembly.Imports = {},
): Promise<Result<Instantiated, SandboxError>> {
  const linked = linkImports(compiled, functions, maxMemoryBytes, transformImports);
  if (!linked.ok) return linked;
  try {
    const instance = await WebAssembly.instantiate(compiled.module, linked.value.imports);
    return ok(instantiated(compiled, instance, linked.value.memory));
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
): Result<Instantiated, SandboxError> {
  const linked = linkImports(compiled, functions, maxMemoryBytes, transformImports);
  if (!linked.ok) return linked;
  try {
    const instance = new WebAssembly.Instance(compiled.module, linked.value.imports);
    return ok(instantiated(compiled, instance, linked.value.memory));
  } catch (error) {
    return err(instantiationError(error));
  }
}
