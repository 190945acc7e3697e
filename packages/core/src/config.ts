/** Defaults and validation of {@link SandboxConfig}. */
import { type InvalidConfigError, readingConfigThrew, sandboxError } from './errors';
import { type Result, err, ok } from './result';
import type { HostFunction, SandboxConfig, WasmValueType } from './types';
import { type WasiConfig, copyWasiConfig, resolveWasiConfig } from './wasi-config';

/** Bytes in one WebAssembly page. */
export const WASM_PAGE_BYTES = 65536;
/** The most pages a 32-bit memory can have (4 GiB). */
export const MAX_WASM_PAGES = 65536;

/** Default values of every {@link SandboxConfig} field except `eventTimestamp` (the creation time). */
export const DEFAULT_CONFIG = Object.freeze({
  maxMemoryBytes: 16 * 1024 * 1024,
  maxGas: 1_000_000,
  maxExecutionMs: 50,
  deterministicSeed: 0,
  maxCallDepth: 1000,
});

/**
 * Names under `env` the sandbox provides itself (`memory`) or reserves for its
 * deterministic builtins (`__get_time`, `__get_random`); a host function may not take them.
 */
export const RESERVED_IMPORT_NAMES: ReadonlySet<string> = new Set(['memory', '__get_time', '__get_random']);

/** The import module of WASI preview 1, which only the sandbox's WASI (`config.wasi`) provides. */
export const WASI_IMPORT_MODULE = 'wasi_snapshot_preview1';

/** The import module a host function is imported from: its own, or `env`. */
export function importModuleOf(fn: { readonly module?: string | undefined }): string {
  return fn.module ?? 'env';
}

const VALUE_TYPES: ReadonlySet<string> = new Set<WasmValueType>(['i32', 'i64', 'f32', 'f64']);
const FIELDS: ReadonlySet<string> = new Set<keyof SandboxConfig>([
  'maxMemoryBytes',
  'maxGas',
  'maxExecutionMs',
  'hostFunctions',
  'deterministicSeed',
  'eventTimestamp',
  'maxCallDepth',
  'wasi',
]);

/** Number of 64 KiB pages needed to hold `bytes` (64 KiB -> 1, 65 KiB -> 2, 1 MiB -> 16). */
export function pagesForBytes(bytes: number): number {
  return Math.ceil(bytes / WASM_PAGE_BYTES);
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

type Check = (value: unknown) => string | undefined;

const isNumber: Check = (value) =>
  typeof value === 'number' ? undefined : `must be a number, got ${typeof value}`;
const finite: Check = (value) =>
  isNumber(value) ?? (Number.isFinite(value) ? undefined : `must be finite, got ${describe(value)}`);
const safeInteger: Check = (value) =>
  finite(value) ?? (Number.isSafeInteger(value) ? undefined : `must be an integer, got ${describe(value)}`);
const nonNegative =
  (inner: Check): Check =>
  (value) =>
    inner(value) ?? ((value as number) >= 0 ? undefined : `must not be negative, got ${describe(value)}`);

const NUMERIC_CHECKS: Readonly<Record<string, Check>> = {
  maxMemoryBytes: (value) =>
    finite(value) ??
    ((value as number) <= 0
      ? `must be a positive number of bytes, got ${describe(value)}`
      : pagesForBytes(value as number) > MAX_WASM_PAGES
        ? `must be at most 4 GiB (${MAX_WASM_PAGES * WASM_PAGE_BYTES} bytes), got ${describe(value)}`
        : undefined),
  maxGas: nonNegative(safeInteger),
  maxExecutionMs: nonNegative(finite),
  deterministicSeed: nonNegative(safeInteger),
  eventTimestamp: safeInteger,
  maxCallDepth: (value) =>
    safeInteger(value) ?? ((value as number) >= 1 ? undefined : `must be at least 1, got ${describe(value)}`),
};
/** {@link NUMERIC_CHECKS} as a list, in the order they are checked. */
const NUMERIC_CHECK_LIST = Object.entries(NUMERIC_CHECKS);

function checkTypes(field: string, value: unknown): InvalidConfigError | undefined {
  if (!Array.isArray(value)) return sandboxError.invalidConfig(field, 'must be an array of value types');
  for (const type of value as unknown[]) {
    if (typeof type !== 'string' || !VALUE_TYPES.has(type)) {
      return sandboxError.invalidConfig(field, `${describe(type)} is not one of i32, i64, f32, f64`);
    }
  }
  return undefined;
}

function checkHostFunction(key: string, fn: unknown): InvalidConfigError | undefined {
  const field = `hostFunctions.${key}`;
  if (typeof fn !== 'object' || fn === null)
    return sandboxError.invalidConfig(field, 'must be a HostFunction object');
  const { name, module, params, results, handler } = fn as Partial<Record<keyof HostFunction, unknown>>;
  if (typeof name !== 'string' || name.length === 0)
    return sandboxError.invalidConfig(field, 'name must be a non-empty string');
  if (module !== undefined && (typeof module !== 'string' || module.length === 0))
    return sandboxError.invalidConfig(field, 'module, when given, must be a non-empty string');
  const from = importModuleOf({ module });
  if (key !== name && key !== `${from}.${name}`)
    return sandboxError.invalidConfig(
      field,
      `is keyed "${key}" but is ${from}.${name}; key it "${name}" (or "${from}.${name}")`,
    );
  if (from === 'env' && RESERVED_IMPORT_NAMES.has(name))
    return sandboxError.invalidConfig(field, `"${name}" is reserved by the sandbox`);
  if (from === WASI_IMPORT_MODULE || from.startsWith('__ri_'))
    return sandboxError.invalidConfig(field, `the import module "${from}" is reserved by the sandbox`);
  if (typeof handler !== 'function') return sandboxError.invalidConfig(field, 'handler must be a function');
  return checkTypes(`${field}.params`, params) ?? checkTypes(`${field}.results`, results);
}

/**
 * Each host function's fields, read once into an object of the sandbox's own (its `params` and
 * `results` arrays copied), so that what is checked is what is kept: a getter is not asked again.
 * Anything that is not a host function is kept as it is, for the checks to name.
 */
function copyHostFunctions(functions: object): Result<Record<string, unknown>, InvalidConfigError> {
  const copied: Record<string, unknown> = {};
  let key = '';
  try {
    for (const [entry, fn] of Object.entries(functions)) {
      key = entry;
      if (typeof fn !== 'object' || fn === null) {
        copied[entry] = fn;
        continue;
      }
      const { name, module, params, results, handler } = fn as Partial<Record<keyof HostFunction, unknown>>;
      const copy = {
        name,
        params: Array.isArray(params) ? [...(params as unknown[])] : params,
        results: Array.isArray(results) ? [...(results as unknown[])] : results,
        handler,
      };
      copied[entry] = module === undefined ? copy : Object.assign(copy, { module });
    }
  } catch (error) {
    return err(readingConfigThrew(key === '' ? 'hostFunctions' : `hostFunctions.${key}`, error));
  }
  return ok(copied);
}

/** Two host functions may not stand for the same import. */
function checkUnique(functions: Readonly<Record<string, HostFunction>>): InvalidConfigError | undefined {
  const seen = new Set<string>();
  for (const [key, fn] of Object.entries(functions)) {
    const id = `${importModuleOf(fn)}.${fn.name}`;
    if (seen.has(id))
      return sandboxError.invalidConfig(`hostFunctions.${key}`, `is a second definition of ${id}`);
    seen.add(id);
  }
  return undefined;
}

/** The host functions of a config that gives none: one frozen object for all of them. */
const NO_HOST_FUNCTIONS: Readonly<Record<string, HostFunction>> = Object.freeze({});

function freezeHostFunctions(
  input: Readonly<Record<string, HostFunction>>,
): Readonly<Record<string, HostFunction>> {
  if (input === NO_HOST_FUNCTIONS) return input;
  const frozen: Record<string, HostFunction> = {};
  for (const [key, fn] of Object.entries(input)) {
    const { name, handler } = fn;
    const params = Object.freeze(fn.params);
    const results = Object.freeze(fn.results);
    frozen[key] = Object.freeze(
      fn.module === undefined
        ? { name, params, results, handler }
        : { module: fn.module, name, params, results, handler },
    );
  }
  return Object.freeze(frozen);
}

/**
 * Fills in defaults and validates every field. Returns a frozen config, or
 * `INVALID_CONFIG` naming the first invalid field (unknown fields are rejected
 * too, so that a misspelt limit is never silently ignored).
 *
 * @param now - The clock used for the default `eventTimestamp`.
 */
export function resolveConfig(
  input: unknown = {},
  now: () => number = Date.now,
): Result<SandboxConfig, InvalidConfigError> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return err(sandboxError.invalidConfig('config', 'must be an object'));
  }
  const given = input as Record<string, unknown>;
  let keys: string[];
  try {
    keys = Object.keys(given);
  } catch (error) {
    return err(readingConfigThrew('config', error));
  }
  for (const key of keys) {
    if (!FIELDS.has(key)) return err(sandboxError.invalidConfig(key, 'is not a SandboxConfig field'));
  }
  // The given fields over the defaults (a field given as `undefined` keeps its default), read once each.
  const merged: Record<string, unknown> = {
    maxMemoryBytes: DEFAULT_CONFIG.maxMemoryBytes,
    maxGas: DEFAULT_CONFIG.maxGas,
    maxExecutionMs: DEFAULT_CONFIG.maxExecutionMs,
    deterministicSeed: DEFAULT_CONFIG.deterministicSeed,
    maxCallDepth: DEFAULT_CONFIG.maxCallDepth,
    eventTimestamp: undefined,
    hostFunctions: undefined,
    wasi: undefined,
  };
  for (const key of keys) {
    let value: unknown;
    try {
      value = given[key];
    } catch (error) {
      return err(readingConfigThrew(key, error));
    }
    if (value !== undefined) merged[key] = value;
  }
  if (merged['eventTimestamp'] === undefined) merged['eventTimestamp'] = Math.floor(now());

  for (const [field, check] of NUMERIC_CHECK_LIST) {
    const problem = check(merged[field]);
    if (problem !== undefined) return err(sandboxError.invalidConfig(field, problem));
  }
  const hostFunctions = merged['hostFunctions'] === undefined ? NO_HOST_FUNCTIONS : merged['hostFunctions'];
  if (typeof hostFunctions !== 'object' || hostFunctions === null || Array.isArray(hostFunctions)) {
    return err(sandboxError.invalidConfig('hostFunctions', 'must be an object keyed by function name'));
  }
  const copied = hostFunctions === NO_HOST_FUNCTIONS ? ok(hostFunctions) : copyHostFunctions(hostFunctions);
  if (!copied.ok) return copied;
  for (const [key, fn] of Object.entries(copied.value)) {
    const problem = checkHostFunction(key, fn);
    if (problem !== undefined) return err(problem);
  }
  const duplicate = checkUnique(copied.value as Record<string, HostFunction>);
  if (duplicate !== undefined) return err(duplicate);
  let wasi: WasiConfig | undefined;
  if (merged['wasi'] !== undefined) {
    // Copied first (each field read once), then checked: what is checked is what is kept.
    const copied = copyWasiConfig(merged['wasi']);
    if (!copied.ok) return copied;
    const checked = resolveWasiConfig(copied.value);
    if (!checked.ok) return checked;
    wasi = copied.value as WasiConfig;
  }
  const config: SandboxConfig = {
    maxMemoryBytes: merged['maxMemoryBytes'] as number,
    maxGas: merged['maxGas'] as number,
    maxExecutionMs: merged['maxExecutionMs'] as number,
    hostFunctions: freezeHostFunctions(copied.value as Record<string, HostFunction>),
    deterministicSeed: merged['deterministicSeed'] as number,
    eventTimestamp: merged['eventTimestamp'] as number,
    maxCallDepth: merged['maxCallDepth'] as number,
    ...(wasi === undefined ? {} : { wasi }),
  };
  return ok(Object.freeze(config));
}

/**
 * Declares a host function with its argument and result types inferred from
 * `params` and `results`, so that `handler` is type-checked.
 */
export function defineHostFunction<
  const P extends readonly WasmValueType[],
  const R extends readonly WasmValueType[],
>(fn: HostFunction<P, R>): HostFunction<P, R> {
  return fn;
}
