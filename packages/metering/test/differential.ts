/**
 * Differential testing of a bytecode transform: run the original and the
 * transformed module side by side on the same calls, and record everything
 * observable (results with exact float bits, trap kinds, host calls, memory).
 */
import { classifyTrap, decodeModule, type FuncType, ValType, valTypeName } from '@ri-sandbox/core';
import { RESERVED_PREFIX } from '../src/names';

/** Everything observable about one call. */
export interface Observation {
  readonly call: string;
  readonly outcome: string;
  readonly log: readonly string[];
  readonly memoryHash: string;
}

function bits(value: unknown): string {
  if (typeof value === 'number') {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value);
    return `num:${view.getBigUint64(0).toString(16)}`;
  }
  if (typeof value === 'bigint') return `i64:${value}`;
  if (Array.isArray(value)) return `[${value.map(bits).join(',')}]`;
  if (value === undefined) return 'undefined';
  return typeof value;
}

function fnv1a(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `${bytes.length}:${hash.toString(16)}`;
}

/** The argument a harness passes for a parameter type, or undefined if JavaScript cannot pass one. */
function argumentFor(type: number, seed: number): unknown {
  switch (type) {
    case ValType.i32:
      return (seed % 13) + 1;
    case ValType.i64:
      return BigInt(seed) * 1_000_003n;
    case ValType.f32:
    case ValType.f64:
      return seed * 1.5 - 3;
    case ValType.externref:
    case ValType.funcref:
      return null;
    default:
      return undefined;
  }
}

/**
 * What the fixtures import besides memory: stubs of the host functions and
 * of the sandbox's builtins, and a fresh bounded memory for the one that
 * imports `env.memory` (fresh per call, so two runs never share it).
 */
export function fixtureImports(): WebAssembly.Imports {
  return {
    env: {
      host_add: (a: number, b: number) => (a + b) | 0,
      host_log: () => undefined,
      host_i64: (x: bigint) => x,
      __get_random: () => 4,
      __get_time: () => 5,
      memory: new WebAssembly.Memory({ initial: 1, maximum: 4 }),
    },
  };
}

/** The exported functions of a module with their signatures, in export order. */
export function exportedFunctions(bytes: Uint8Array): { name: string; type: FuncType }[] {
  const module = decodeModule(bytes);
  const imported = module.imports.filter((i) => i.descriptor.kind === 'function');
  const typeOf = (index: number): FuncType | undefined => {
    const imp = imported[index];
    if (imp?.descriptor.kind === 'function') return module.types[imp.descriptor.type];
    return module.types[module.functions[index - imported.length] as number];
  };
  return module.exports.flatMap((e) => {
    const type = e.kind === 'function' ? typeOf(e.index) : undefined;
    return type === undefined ? [] : [{ name: e.name, type }];
  });
}

/**
 * Imports for binaryen's fuzz modules, modelled on binaryen's own fuzzing
 * harness: logging functions that record their argument, export and
 * reference callers that catch, table access, and zero-valued globals.
 */
export function fuzzImports(
  bytes: Uint8Array,
  log: string[],
  exports: () => WebAssembly.Exports,
): WebAssembly.Imports {
  const record = (kind: string) => (value: unknown) => void log.push(`${kind}(${bits(value)})`);
  // The module's own exported functions, by index: not those a transform added (see RESERVED_PREFIX),
  // which the original does not have (an index past the original's calls nothing there).
  const exportedFunction = (index: number) =>
    Object.entries(exports())
      .filter(([name]) => !name.startsWith(RESERVED_PREFIX))
      .map(([, value]) => value)
      .filter((v): v is (...args: unknown[]) => unknown => typeof v === 'function')[index];
  const table = () =>
    Object.values(exports()).find((v): v is WebAssembly.Table => v instanceof WebAssembly.Table);
  const catching = (call: () => unknown) => {
    try {
      call();
      return 0;
    } catch {
      return 1;
    }
  };
  const support: Record<string, unknown> = {
    'log-i32': record('i32'),
    'log-i64': record('i64'),
    'log-f32': record('f32'),
    'log-f64': record('f64'),
    'log-v128': record('v128'),
    'call-export': (index: number) => void exportedFunction(index)?.(),
    'call-export-catch': (index: number) => catching(() => exportedFunction(index)?.()),
    'call-ref': (ref: ((...args: unknown[]) => unknown) | null) => void ref?.(),
    'call-ref-catch': (ref: ((...args: unknown[]) => unknown) | null) => catching(() => ref?.()),
    'table-get': (index: number) => (table()?.get(index) as unknown) ?? null,
    'table-set': (index: number, value: unknown) => table()?.set(index, value),
    sleep: (_ms: number, id: number) => id,
  };
  const others: Record<string, Record<string, unknown>> = {};
  for (const imp of decodeModule(bytes).imports) {
    if (imp.module === 'fuzzing-support' || imp.descriptor.kind !== 'global') continue;
    const { valueType, mutable } = imp.descriptor.global;
    const type = valTypeName(valueType) as WebAssembly.ValueType;
    const zero = type === 'i64' ? 0n : type === 'externref' || type === 'anyfunc' ? null : 0;
    (others[imp.module] ??= {})[imp.name] = new WebAssembly.Global({ value: type, mutable }, zero);
  }
  return { 'fuzzing-support': support, ...others } as WebAssembly.Imports;
}

/**
 * Instantiates `bytes` (with `extraImports` merged in) and calls every
 * exported function `rounds` times with fixed arguments, observing each call.
 * `wrap` runs each call (for example under a meter). Stops after a stack
 * overflow, whose depth legitimately differs between original and transform.
 */
export async function observe(
  bytes: Uint8Array<ArrayBuffer>,
  signatures: readonly { name: string; type: FuncType }[],
  options: {
    extraImports?: () => WebAssembly.Imports;
    beforeInstantiate?: () => void;
    attach?: (instance: WebAssembly.Instance) => void;
    wrap?: Wrap;
    rounds?: number;
  } = {},
): Promise<Observation[]> {
  const log: string[] = [];
  let exportsRef: WebAssembly.Exports = {};
  const imports = { ...fuzzImports(bytes, log, () => exportsRef), ...options.extraImports?.() };
  options.beforeInstantiate?.();
  let instance: WebAssembly.Instance;
  try {
    ({ instance } = await WebAssembly.instantiate(bytes, imports));
  } catch (error) {
    // A start function that traps: that is the whole observable behaviour.
    return [{ call: 'start', outcome: `trap ${describeError(error)}`, log: [...log], memoryHash: 'none' }];
  }
  exportsRef = instance.exports;
  options.attach?.(instance);
  const wrap = options.wrap ?? plainWrap;
  const observations: Observation[] = [];
  for (let round = 0; round < (options.rounds ?? 2); round++) {
    const done = observeRound(instance, signatures, round, log, wrap, observations);
    if (!done) break;
  }
  return observations;
}

type Wrap = (call: () => unknown) => { ok: true; value: unknown } | { ok: false; error: unknown };

const plainWrap: Wrap = (call) => {
  try {
    return { ok: true as const, value: call() };
  } catch (error) {
    return { ok: false as const, error };
  }
};

/**
 * Calls every exported function of `instance` once with round `round`'s
 * arguments, appending an observation per call (with `log`, which the
 * imports fill). Returns false after a stack overflow, whose depth
 * legitimately differs between original and transform.
 */
export function observeRound(
  instance: WebAssembly.Instance,
  signatures: readonly { name: string; type: FuncType }[],
  round: number,
  log: string[],
  wrap: Wrap = plainWrap,
  observations: Observation[] = [],
): boolean {
  const memory = Object.values(instance.exports).find(
    (v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory,
  );
  for (const { name, type } of signatures) {
    const args = type.params.map((t, i) => argumentFor(t, round * 31 + i + 1));
    if (args.some((a) => a === undefined) || type.results.some((t) => t === ValType.v128)) continue;
    log.length = 0;
    const fn = instance.exports[name] as (...a: unknown[]) => unknown;
    const result = wrap(() => fn(...args));
    const outcome = result.ok ? `ok ${bits(result.value)}` : `trap ${describeError(result.error)}`;
    observations.push({
      call: `${name}(${type.params.map(valTypeName).join(',')})#${round}`,
      outcome,
      log: [...log],
      memoryHash: memory === undefined ? 'none' : fnv1a(new Uint8Array(memory.buffer)),
    });
    if (outcome === 'trap stack_overflow') return false;
  }
  return true;
}

function describeError(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const coded = error as { code: string; trapKind?: string };
    return coded.code === 'WASM_TRAP' ? (coded.trapKind ?? 'unknown') : coded.code;
  }
  if (error instanceof TypeError) return `TypeError`;
  return classifyTrap(error).trapKind;
}
