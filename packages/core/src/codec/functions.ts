/** Facts about a module's functions that transforms need. */
import type { FuncType, WasmModule } from './types';

/**
 * How many locals defined function `definedIndex` has, parameters included:
 * the index a transform gives the first local it appends to that function.
 */
export function localCount(module: WasmModule, definedIndex: number): number {
  const type = module.types[module.functions[definedIndex] as number];
  const body = module.code[definedIndex];
  const declared = body?.locals.reduce((sum, group) => sum + group.count, 0) ?? 0;
  return (type?.params.length ?? 0) + declared;
}

/** The signature of function `index` in the module's function index space (imports first). */
export function functionSignature(module: WasmModule, index: number): FuncType | undefined {
  let remaining = index;
  for (const imp of module.imports) {
    if (imp.descriptor.kind !== 'function') continue;
    if (remaining === 0) return module.types[imp.descriptor.type];
    remaining--;
  }
  const typeIndex = module.functions[remaining];
  return typeIndex === undefined ? undefined : module.types[typeIndex];
}
