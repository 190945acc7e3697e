/**
 * The cost model: what each instruction costs in gas, and how work whose size
 * comes from an operand (memory growth, bulk memory and table operations) is
 * charged in proportion to that size.
 */
import { type InvalidConfigError, type Result, err, ok, opcodeByName, sandboxError } from '@ri-sandbox/core';

/** Gas costs. Every field is a non-negative safe integer. */
export interface CostModel {
  /** Cost of every instruction not listed in `instructions`. Default 1. */
  readonly defaultCost: number;
  /**
   * Per-instruction costs by text-format name, over the defaults. By default
   * pure structure costs 0: `block`, `loop`, `end`, `nop`, `else`, `try`,
   * `catch`, `catch_all`, `delegate`.
   */
  readonly instructions: Readonly<Record<string, number>>;
  /** Entering a function: any call, including the host's call of an action. Default 1. */
  readonly functionEntry: number;
  /** Per 64 KiB page that `memory.grow` asks for. Default 64. */
  readonly memoryGrowPerPage: number;
  /** Per 64 bytes (rounded up) that `memory.fill`, `memory.copy` or `memory.init` touch. Default 1. */
  readonly memoryPer64Bytes: number;
  /** Per element that `table.fill`, `table.copy`, `table.init` or `table.grow` touch. Default 1. */
  readonly tablePerElement: number;
  /** Per WASI call (`@ri-sandbox/wasi` in a sandbox), on top of the instructions around it. Default 50. */
  readonly wasiCall: number;
  /** Per 64 bytes (rounded up) a WASI call moves: written, read, or drawn at random. Default 1. */
  readonly wasiPer64Bytes: number;
}

/** Instructions that only give code its structure, and cost nothing by default. */
export const STRUCTURAL_INSTRUCTIONS: readonly string[] = Object.freeze([
  'block',
  'loop',
  'end',
  'nop',
  'else',
  'try',
  'catch',
  'catch_all',
  'delegate',
]);

/** The default cost model. */
export const DEFAULT_COST_MODEL: CostModel = Object.freeze({
  defaultCost: 1,
  instructions: Object.freeze(Object.fromEntries(STRUCTURAL_INSTRUCTIONS.map((name) => [name, 0]))),
  functionEntry: 1,
  memoryGrowPerPage: 64,
  memoryPer64Bytes: 1,
  tablePerElement: 1,
  wasiCall: 50,
  wasiPer64Bytes: 1,
});

const SCALAR_FIELDS = [
  'defaultCost',
  'functionEntry',
  'memoryGrowPerPage',
  'memoryPer64Bytes',
  'tablePerElement',
  'wasiCall',
  'wasiPer64Bytes',
] as const;

const KNOWN_FIELDS: ReadonlySet<string> = new Set([...SCALAR_FIELDS, 'instructions']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

function badCost(value: unknown): boolean {
  return typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0;
}

/**
 * Merges `overrides` over {@link DEFAULT_COST_MODEL} and validates it:
 * only the fields of {@link CostModel}, costs that are non-negative safe
 * integers, and instruction names that exist.
 * Errors are `INVALID_CONFIG` naming the field.
 */
export function resolveCostModel(overrides: Partial<CostModel> = {}): Result<CostModel, InvalidConfigError> {
  if (!isRecord(overrides))
    return err(sandboxError.invalidConfig('costs', `must be an object, got ${describe(overrides)}`));
  const keys = Object.keys(overrides);
  // No overrides: the default model itself, whose lookup tables `instrument` makes once per process.
  if (keys.length === 0) return ok(DEFAULT_COST_MODEL);
  for (const key of keys) {
    if (!KNOWN_FIELDS.has(key))
      return err(
        sandboxError.invalidConfig(`costs.${key}`, `is not a cost (known: ${[...KNOWN_FIELDS].join(', ')})`),
      );
  }
  if (overrides.instructions !== undefined && !isRecord(overrides.instructions)) {
    return err(
      sandboxError.invalidConfig(
        'costs.instructions',
        `must be an object, got ${describe(overrides.instructions)}`,
      ),
    );
  }
  const model = Object.assign({}, DEFAULT_COST_MODEL, overrides);
  for (const field of SCALAR_FIELDS) {
    if (badCost(model[field])) {
      return err(
        sandboxError.invalidConfig(
          `costs.${field}`,
          `must be a non-negative integer, got ${describe(model[field])}`,
        ),
      );
    }
  }
  for (const [name, cost] of Object.entries(overrides.instructions ?? {})) {
    const known = opcodeByName(name) !== undefined;
    if (!known)
      return err(
        sandboxError.invalidConfig(`costs.instructions.${name}`, 'is not a WebAssembly instruction'),
      );
    if (badCost(cost)) {
      return err(
        sandboxError.invalidConfig(
          `costs.instructions.${name}`,
          `must be a non-negative integer, got ${describe(cost)}`,
        ),
      );
    }
  }
  const instructions = Object.freeze(
    Object.assign({}, DEFAULT_COST_MODEL.instructions, overrides.instructions),
  );
  return ok(Object.freeze(Object.assign({}, model, { instructions })));
}
