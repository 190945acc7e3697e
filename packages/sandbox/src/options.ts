/**
 * A sandbox factory's options, checked once when the factory is made, so that
 * nothing `create`, `load` or `execute` do later can fail because of one.
 */
import {
  type InvalidConfigError,
  type Result,
  err,
  monotonicNow,
  ok,
  sandboxError,
  thrownReason,
} from '@ri-sandbox/core';
import { type CostModel, resolveCostModel } from '@ri-sandbox/metering';
import type { PreparedModuleStore } from './prepared';
import { describeOption } from './text';

/** Options of a sandbox factory (not of its instances: those take a `SandboxConfig`). */
export interface SandboxOptions {
  /** Monotonic clock in milliseconds, for execution times. Default `performance.now()`. */
  readonly now?: () => number;
  /** Wall clock in milliseconds since the epoch, for the default `eventTimestamp`. Default `Date.now()`. */
  readonly wallClock?: () => number;
  /** Gas cost overrides over the default cost model (see `@ri-sandbox/metering`). */
  readonly costs?: Partial<CostModel>;
  /**
   * What a `memory.grow` past `maxMemoryBytes` does: `'trap'` (default) ends the
   * execution with `MEMORY_EXCEEDED`; `'return-minus-one'` returns -1 to the guest.
   */
  readonly memoryGrowFailure?: 'trap' | 'return-minus-one';
  /**
   * Whether every NaN a float instruction produces is made the canonical NaN,
   * so that results are bit-identical on every engine. Default `true`.
   */
  readonly canonicalizeNaNs?: boolean;
  /**
   * Where to keep what loads make of modules (the transformed bytes and the
   * state layout), so that a load in another process, of the same module
   * under the same settings, compiles them instead of transforming the
   * module again. Default: none (each process transforms each module once).
   */
  readonly preparedModules?: PreparedModuleStore;
  /**
   * Whether the memories of this factory's instances destroyed, reloaded or
   * restored into a new WebAssembly instance go to the process's pool, and
   * its new instances take memories from it. A kept memory is zeroed before
   * it is given: an instance cannot tell it from a new one, which costs the
   * engine more to make than most of an instantiation. The pool is shared by
   * every factory that reuses memories and keeps up to 32 MiB, none above
   * 16 MiB. With it, the factory also keeps the WebAssembly instances of
   * destroyed or reloaded instances for the next loads of the same module
   * with the same host functions and no WASI, put back in the state a new
   * instance starts in (at most 4 per module, 64 holding 16 MiB in the
   * process, whose memories serve other factories' loads when the pool has
   * none). Default `true`.
   */
  readonly reuseMemories?: boolean;
}

/** The options with every default filled in. */
export interface ResolvedOptions {
  readonly now: () => number;
  readonly wallClock: () => number;
  readonly costs: CostModel;
  readonly memoryGrowFailure: 'trap' | 'return-minus-one';
  readonly canonicalizeNaNs: boolean;
  readonly preparedModules: PreparedModuleStore | undefined;
  readonly reuseMemories: boolean;
}

const OPTION_NAMES: readonly (keyof SandboxOptions)[] = [
  'now',
  'wallClock',
  'costs',
  'memoryGrowFailure',
  'canonicalizeNaNs',
  'preparedModules',
  'reuseMemories',
];
const GROWTH_POLICIES: readonly string[] = ['trap', 'return-minus-one'];

/**
 * `clock` as the sandbox reads it: a reading that is not a finite number, or
 * a call that throws, counts as the clock not having moved since the last
 * good reading (`first` before any). The sandbox never throws because of a clock.
 */
export function guardedClock(clock: () => number, first = 0): () => number {
  let last = first;
  return () => {
    try {
      const reading = clock();
      if (typeof reading === 'number' && Number.isFinite(reading)) last = reading;
    } catch {
      // Not moved.
    }
    return last;
  };
}

/**
 * `clock` guarded, if it is a function whose first reading is a finite number
 * (within ±2^53 for `safeInteger`); `INVALID_CONFIG` naming `field` if not.
 */
function checkedClock(
  field: string,
  clock: unknown,
  safeInteger: boolean,
): Result<() => number, InvalidConfigError> {
  if (typeof clock !== 'function')
    return err(sandboxError.invalidConfig(field, `must be a function, got ${describeOption(clock)}`));
  let reading: unknown;
  try {
    reading = (clock as () => unknown)();
  } catch (error) {
    const reason = `threw when read: ${thrownReason(error)}`;
    return err(sandboxError.invalidConfig(field, reason));
  }
  if (
    typeof reading !== 'number' ||
    !Number.isFinite(reading) ||
    (safeInteger && Math.abs(reading) > Number.MAX_SAFE_INTEGER)
  ) {
    return err(
      sandboxError.invalidConfig(
        field,
        `must return a finite number of milliseconds, returned ${describeOption(reading)}`,
      ),
    );
  }
  return ok(guardedClock(clock as () => number, reading));
}

/** Whether `store` has the two methods of a {@link PreparedModuleStore}. */
function isStore(store: unknown): store is PreparedModuleStore {
  if (typeof store !== 'object' || store === null) return false;
  const { get, set } = store as Record<string, unknown>;
  return typeof get === 'function' && typeof set === 'function';
}

/**
 * Checks `input` and fills in defaults: unknown options, clocks that are not
 * clocks, a bad cost model, an unknown growth policy, a non-boolean
 * `canonicalizeNaNs` or `reuseMemories`, and a store without `get` and `set`
 * methods are `INVALID_CONFIG` naming the option.
 */
export function resolveOptions(input: unknown = {}): Result<ResolvedOptions, InvalidConfigError> {
  try {
    return resolveReadableOptions(input);
  } catch (error) {
    // A getter or a proxy that throws when read (a clock that throws is refused by its own check).
    const reason = thrownReason(error);
    return err(sandboxError.invalidConfig('options', `reading them threw: ${reason}`));
  }
}

function resolveReadableOptions(input: unknown): Result<ResolvedOptions, InvalidConfigError> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return err(sandboxError.invalidConfig('options', `must be an object, got ${describeOption(input)}`));
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key))
      return err(
        sandboxError.invalidConfig(key, `is not a sandbox option (options: ${OPTION_NAMES.join(', ')})`),
      );
  }
  const { now, wallClock, costs, memoryGrowFailure, canonicalizeNaNs, preparedModules, reuseMemories } =
    given;
  const monotonic = now === undefined ? ok(monotonicNow) : checkedClock('now', now, false);
  if (!monotonic.ok) return monotonic;
  const wall = wallClock === undefined ? ok(Date.now) : checkedClock('wallClock', wallClock, true);
  if (!wall.ok) return wall;
  const model = resolveCostModel(costs as Partial<CostModel> | undefined);
  if (!model.ok) return model;
  if (memoryGrowFailure !== undefined && !GROWTH_POLICIES.includes(memoryGrowFailure as string)) {
    return err(
      sandboxError.invalidConfig(
        'memoryGrowFailure',
        `must be 'trap' or 'return-minus-one', got ${describeOption(memoryGrowFailure)}`,
      ),
    );
  }
  if (canonicalizeNaNs !== undefined && typeof canonicalizeNaNs !== 'boolean')
    return err(
      sandboxError.invalidConfig(
        'canonicalizeNaNs',
        `must be a boolean, got ${describeOption(canonicalizeNaNs)}`,
      ),
    );
  if (preparedModules !== undefined && !isStore(preparedModules))
    return err(
      sandboxError.invalidConfig(
        'preparedModules',
        `must be an object with get and set methods, got ${describeOption(preparedModules)}`,
      ),
    );
  if (reuseMemories !== undefined && typeof reuseMemories !== 'boolean')
    return err(
      sandboxError.invalidConfig('reuseMemories', `must be a boolean, got ${describeOption(reuseMemories)}`),
    );
  return ok({
    now: monotonic.value,
    wallClock: wall.value,
    costs: model.value,
    memoryGrowFailure: (memoryGrowFailure as ResolvedOptions['memoryGrowFailure'] | undefined) ?? 'trap',
    canonicalizeNaNs: canonicalizeNaNs !== false,
    preparedModules,
    reuseMemories: reuseMemories !== false,
  });
}
