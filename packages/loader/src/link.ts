/**
 * Import checking: a module may import only what the sandbox provides, under
 * `env`: the host functions of the config (with the same signature) and
 * `env.memory`. Anything else is refused at load, with both lists in the reason.
 */
import {
  type HostFunction,
  type Import,
  type Result,
  type SandboxError,
  type WasmModule,
  err,
  ok,
  sandboxError,
} from '@ri-sandbox/core';
import { formatSignature, hostSignature, sameSignature } from './signature';

/** Module name under which everything the sandbox provides is imported. */
export const HOST_MODULE = 'env';

function describeImport(module: WasmModule, imp: Import): string {
  const d = imp.descriptor;
  const type = d.kind === 'function' ? module.types[d.type] : undefined;
  return `${imp.module}.${imp.name} (${d.kind}${type === undefined ? '' : ` ${formatSignature(type)}`})`;
}

function describeProvided(hostFunctions: Readonly<Record<string, HostFunction>>): string {
  const provided = [
    'env.memory (memory)',
    ...Object.values(hostFunctions).map(
      (fn) => `env.${fn.name} (function ${formatSignature(hostSignature(fn))})`,
    ),
  ];
  return provided.join(', ');
}

/**
 * Checks every import of `module` against what the sandbox provides and
 * returns the names of the host functions it imports, in import order.
 */
export function checkImports(
  module: WasmModule,
  hostFunctions: Readonly<Record<string, HostFunction>>,
): Result<readonly string[], SandboxError> {
  const missing: string[] = [];
  const mismatched: string[] = [];
  const functionImports: string[] = [];
  for (const imp of module.imports) {
    const d = imp.descriptor;
    if (imp.module === HOST_MODULE && imp.name === 'memory' && d.kind === 'memory') continue;
    const host =
      imp.module === HOST_MODULE && Object.hasOwn(hostFunctions, imp.name)
        ? hostFunctions[imp.name]
        : undefined;
    if (host === undefined || d.kind !== 'function') {
      missing.push(describeImport(module, imp));
      continue;
    }
    const expected = module.types[d.type];
    const declared = hostSignature(host);
    if (expected === undefined || !sameSignature(expected, declared)) {
      mismatched.push(
        `env.${imp.name} is imported as ${expected === undefined ? 'an unknown type' : formatSignature(expected)} ` +
          `but the host function declares ${formatSignature(declared)}`,
      );
      continue;
    }
    functionImports.push(imp.name);
  }
  if (missing.length > 0) {
    return err(
      sandboxError.invalidModule(
        `the module imports ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not provided; ` +
          `provided: ${describeProvided(hostFunctions)}`,
      ),
    );
  }
  if (mismatched.length > 0) return err(sandboxError.invalidModule(mismatched.join('; ')));
  return ok(functionImports);
}
