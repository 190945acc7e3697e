/** Facts about a module's functions that transforms need, and the functions they append. */
import { importedFunctionCount } from './remap';
import type { FuncType, FunctionBody, WasmModule } from './types';

/** How many parameters defined function `definedIndex` takes: its first locals. */
export function paramCount(module: WasmModule, definedIndex: number): number {
  return module.types[module.functions[definedIndex] as number]?.params.length ?? 0;
}

/**
 * How many locals defined function `definedIndex` has, parameters included:
 * the index a transform gives the first local it appends to that function.
 */
export function localCount(module: WasmModule, definedIndex: number): number {
  const body = module.code[definedIndex];
  const declared = body?.locals.reduce((sum, group) => sum + group.count, 0) ?? 0;
  return paramCount(module, definedIndex) + declared;
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

/**
 * Functions a transform appends after a module's own: numbered as they are added, and joined to the
 * module's lists of functions and bodies in one copy each ({@link AppendedFunctions.joined}). A copy
 * grown by pushes is copied again each time it outgrows its room; and in V8 a list of more than 16,384
 * functions is a large object, each copy of which the engine maps afresh and faults in (0.6 to 0.7 ms
 * for ruby.wasm's 17,866, on a machine whose page faults cost 12 µs each).
 */
export class AppendedFunctions {
  private readonly types: number[] = [];
  private readonly bodies: FunctionBody[] = [];
  /** The index the first function appended takes in the function index space. */
  private readonly first: number;

  constructor(private readonly module: WasmModule) {
    this.first = importedFunctionCount(module) + module.functions.length;
  }

  /** Appends a function of the module's type `type`, and returns its index in the function index space. */
  add(type: number, body: FunctionBody): number {
    this.types.push(type);
    this.bodies.push(body);
    return this.first + this.types.length - 1;
  }

  /**
   * The module's function types and bodies with those appended (its own lists, if none was), the
   * bodies taken from `code` (the module's own by default, or a list of as many bodies rewritten).
   */
  joined(code: readonly FunctionBody[] = this.module.code): Pick<WasmModule, 'functions' | 'code'> {
    if (this.types.length === 0) return { functions: this.module.functions, code };
    return { functions: this.module.functions.concat(this.types), code: code.concat(this.bodies) };
  }
}
