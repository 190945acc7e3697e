/**
 * Import checking: a module may import only what the sandbox provides: the
 * declared functions (host functions under `env` or their own module, and
 * whatever else the embedder provides, such as WASI) with the same signature,
 * and `env.memory`. Anything else is refused at load, with both lists in the
 * reason.
 */
import {
  type Import,
  type ImportSignature,
  type Result,
  type SandboxError,
  type WasmModule,
  err,
  importModuleOf,
  ok,
  sandboxError,
} from '@ri-sandbox/core';
import { formatSignature, hostSignature, sameSignature } from './signature';

/** The import module of host functions that name none, and of the sandbox's memory. */
export const HOST_MODULE = 'env';

/** A function import: its module and name. */
export interface ImportName {
  readonly module: string;
  readonly name: string;
}

const keyOf = (module: string, name: string) => `${module}\u0000${name}`;

function describeImport(module: WasmModule, imp: Import): string {
  const d = imp.descriptor;
  const type = d.kind === 'function' ? module.types[d.type] : undefined;
  return `${imp.module}.${imp.name} (${d.kind}${type === undefined ? '' : ` ${formatSignature(type)}`})`;
}

function describeProvided(provided: readonly ImportSignature[]): string {
  const shown = provided.map(
    (fn) => `${importModuleOf(fn)}.${fn.name} (function ${formatSignature(hostSignature(fn))})`,
  );
  // A long list (all of WASI, say) would drown the point: say how many more there are.
  const listed = shown.length > 12 ? [...shown.slice(0, 12), `and ${shown.length - 12} more`] : shown;
  return ['env.memory (memory)', ...listed].join(', ');
}

/**
 * Checks every import of `module` against what the sandbox provides
 * (`provided`, by any key) and returns the function imports, in import order.
 */
export function checkImports(
  module: WasmModule,
  provided: Readonly<Record<string, ImportSignature>>,
): Result<readonly ImportName[], SandboxError> {
  const byImport = new Map(Object.values(provided).map((fn) => [keyOf(importModuleOf(fn), fn.name), fn]));
  const missing: string[] = [];
  const mismatched: string[] = [];
  const functionImports: ImportName[] = [];
  for (const imp of module.imports) {
    const d = imp.descriptor;
    if (imp.module === HOST_MODULE && imp.name === 'memory' && d.kind === 'memory') continue;
    const host = byImport.get(keyOf(imp.module, imp.name));
    if (host === undefined || d.kind !== 'function') {
      missing.push(describeImport(module, imp));
      continue;
    }
    const expected = module.types[d.type];
    const declared = hostSignature(host);
    if (expected === undefined || !sameSignature(expected, declared)) {
      mismatched.push(
        `${imp.module}.${imp.name} is imported as ${expected === undefined ? 'an unknown type' : formatSignature(expected)} ` +
          `but is provided as ${formatSignature(declared)}`,
      );
      continue;
    }
    functionImports.push({ module: imp.module, name: imp.name });
  }
  if (missing.length > 0) {
    return err(
      sandboxError.invalidModule(
        `the module imports ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not provided; ` +
          `provided: ${describeProvided([...byImport.values()])}`,
      ),
    );
  }
  if (mismatched.length > 0) return err(sandboxError.invalidModule(mismatched.join('; ')));
  return ok(functionImports);
}
