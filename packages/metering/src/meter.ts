/**
 * The host side of metering: grants gas to an instrumented instance in
 * chunks, checks the clock at each grant, and explains why a guest stopped.
 */
import {
  type InvalidConfigError,
  type Result,
  type SandboxError,
  SandboxOptionsError,
  err,
  monotonicNow,
  ok,
  sandboxError,
  thrownReason,
} from '@ri-sandbox/core';
import {
  ABORT_MEMORY,
  CONTROL_EXPORT,
  CONTROL_READ_ABORT_ARGUMENT,
  CONTROL_READ_GAS,
  CONTROL_TAKE_ABORT,
  CONTROL_WRITE_GAS,
  METERING_IMPORT_MODULE,
  REFILL_IMPORT,
} from './names';

/** The limits of one run. */
export interface MeterLimits {
  /** Gas available to the run. */
  readonly maxGas: number;
  /** Wall-clock budget of the run, in milliseconds (0 stops at the first check). */
  readonly maxExecutionMs: number;
  /** Reported as `memoryLimit` when a `memory.grow` fails. Default 4 GiB. */
  readonly maxMemoryBytes?: number | undefined;
}

/** Options of a {@link Meter}. */
export interface MeterOptions {
  /** Monotonic clock in milliseconds. Default `performance.now()`. */
  readonly now?: (() => number) | undefined;
}

/** The outcome of {@link Meter.run}. */
export type MeteredRun<T> =
  | { readonly ok: true; readonly value: T; readonly gasUsed: number; readonly durationMs: number }
  | {
      readonly ok: false;
      readonly error: SandboxError;
      readonly gasUsed: number;
      readonly durationMs: number;
    };

/** Gas granted per refill starts here and adapts so that clock checks happen about every 0.1 to 1 ms. */
const INITIAL_CHUNK = 10_000;
const MIN_CHUNK = 1_000;
const MAX_CHUNK = 1 << 26;
const FAST_REFILL_MS = 0.1;
const SLOW_REFILL_MS = 1;
const FOUR_GIB = 2 ** 32;

/**
 * Meters one instrumented instance. Create it, pass {@link imports} when
 * instantiating, {@link attach} the instance, then {@link run} guest calls
 * (or {@link begin} and read the state yourself, as the sandbox does).
 *
 * @example
 * ```ts
 * const meter = new Meter();
 * const { instance } = await WebAssembly.instantiate(metered.bytes, { ...myImports, ...meter.imports });
 * meter.attach(instance);
 * const run = meter.run({ maxGas: 1_000_000, maxExecutionMs: 50 }, () => instance.exports.main());
 * ```
 */
export class Meter {
  /** The imports the instrumented module needs; merge them into your import object. */
  readonly imports: WebAssembly.Imports;
  private readonly now: () => number;
  /** The instance's way to its counters (see `CONTROL_EXPORT`), once attached. */
  private control: ((op: number, value: number) => number) | undefined;
  private limits: MeterLimits = { maxGas: 0, maxExecutionMs: 0 };
  private granted = 0;
  private chunk = INITIAL_CHUNK;
  private startedAt = 0;
  private lastRefillAt = 0;
  private stopped: 'gas' | 'time' | undefined;
  private stoppedAtMs = 0;
  /** Whether the counter was folded into the tally (since {@link end}): it then reads as 0, and is not read. */
  private cleared = false;
  /** Whether the counter global still holds what {@link end} folded (it was asked not to clear it): `left`. */
  private stale = false;
  private left = 0;

  constructor(options: MeterOptions = {}) {
    this.now = options.now ?? monotonicNow;
    this.imports = { [METERING_IMPORT_MODULE]: { [REFILL_IMPORT]: (left: bigint) => this.refill(left) } };
  }

  /**
   * Connects the meter to the instance's counters; attach again after they were
   * set from elsewhere (a restore). Throws `TypeError` if the instance is not instrumented.
   */
  attach(instance: WebAssembly.Instance): void {
    const control = instance.exports[CONTROL_EXPORT];
    if (typeof control !== 'function')
      throw new TypeError(`not an instrumented instance: no ${CONTROL_EXPORT} export`);
    this.control = control as (op: number, value: number) => number;
    // The abort flag is cleared where it is read (after a trap), so runs need not clear it; an
    // instance whose globals were set from elsewhere (a restore) may start with it set. The counter
    // too may hold anything: the next run sets it.
    this.control(CONTROL_TAKE_ABORT, 0);
    this.stale = false;
  }

  /**
   * Starts a run: resets the counters, grants the first chunk and starts the clock. `limits` are
   * checked at every call, except a frozen object the last call was given, whose fields cannot have
   * changed (a host passing its frozen config run after run, as the sandbox does, has it checked once).
   * @throws SandboxOptionsError (`INVALID_CONFIG` naming the field) if `limits` are not limits
   * (see {@link checkMeterLimits}), rather than fail later, inside the guest.
   */
  begin(limits: MeterLimits): void {
    if (limits !== this.limits || !Object.isFrozen(limits)) {
      const invalid = checkMeterLimits(limits);
      if (invalid !== undefined) throw new SandboxOptionsError(invalid);
    }
    this.limits = limits;
    this.stopped = undefined;
    this.cleared = false;
    this.startedAt = this.now();
    this.lastRefillAt = this.startedAt;
    // With no time at all, grant nothing so that the first block checks the clock.
    const tank = limits.maxExecutionMs === 0 ? 0 : Math.min(this.chunk, limits.maxGas);
    if (this.control === undefined) {
      // Not attached yet (a start function): the counter starts at 0 and the first block asks for gas.
      this.granted = 0;
    } else if (this.stale && this.left > 0 && this.left <= tank) {
      // What the last run left in the counter is a grant like any other (no larger than a fresh one),
      // and saves a write: the counter goes on from there.
      this.granted = this.left;
      this.stale = false;
    } else {
      this.granted = tank;
      this.control(CONTROL_WRITE_GAS, tank);
      this.stale = false;
    }
  }

  /** Called by the instrumented code when its counter went negative. */
  private refill(left: bigint): bigint {
    const counter = Number(left);
    const used = this.granted - counter;
    const at = this.now();
    if (used > this.limits.maxGas) return this.stop('gas', at);
    if (at - this.startedAt >= this.limits.maxExecutionMs) return this.stop('time', at);
    const interval = at - this.lastRefillAt;
    this.lastRefillAt = at;
    if (interval < FAST_REFILL_MS) this.chunk = Math.min(this.chunk * 2, MAX_CHUNK);
    else if (interval > SLOW_REFILL_MS) this.chunk = Math.max(this.chunk >> 1, MIN_CHUNK);
    const tank = Math.min(this.chunk, this.limits.maxGas - used);
    this.granted += tank - counter;
    return BigInt(tank);
  }

  private stop(reason: 'gas' | 'time', at: number): bigint {
    this.stopped = reason;
    this.stoppedAtMs = at - this.startedAt;
    return -1n;
  }

  /**
   * Charges `units` of gas for work the host did on the guest's behalf (a
   * system call, say), between two of its instructions: `GAS_EXHAUSTED` if
   * that takes the run past its limit, and the guest must then be stopped.
   * The instrumented code reads the counter back after every call.
   */
  charge(units: number): SandboxError | undefined {
    if (this.control === undefined || units <= 0) return undefined;
    const counter = this.counter() - units;
    this.control(CONTROL_WRITE_GAS, counter);
    this.cleared = false;
    this.stale = false;
    if (this.granted - counter <= this.limits.maxGas) return undefined;
    this.stop('gas', this.now());
    return sandboxError.gasExhausted(this.limits.maxGas, this.limits.maxGas);
  }

  /** Exact gas used since {@link begin} (the limit itself once gas ran out). */
  gasUsed(): number {
    if (this.stopped === 'gas') return this.limits.maxGas;
    return Math.min(this.granted - this.counter(), this.limits.maxGas);
  }

  /**
   * Ends a run: folds what is left of the current grant back into the tally
   * and clears the counter, so that the instance's globals do not depend on how
   * the clock sized the grants (a snapshot taken now is the same on every
   * engine). {@link gasUsed} is unchanged.
   *
   * With `clearCounter` false, the counter global is left as it is (a write
   * saved per run; the next {@link begin} overwrites it): call `end()` again
   * before anything reads the instance's globals.
   */
  end(clearCounter = true): void {
    if (this.control === undefined) return;
    if (!this.cleared) {
      this.left = this.counter();
      this.granted -= this.left;
      this.cleared = true;
      this.stale = true;
    }
    if (clearCounter && this.stale) {
      this.control(CONTROL_WRITE_GAS, 0);
      this.stale = false;
    }
  }

  /** The instance's counter: gas granted and not yet spent (0 when there is none, or after {@link end}). */
  private counter(): number {
    return this.control === undefined || this.cleared ? 0 : this.control(CONTROL_READ_GAS, 0);
  }

  /** Milliseconds since {@link begin}. */
  elapsedMs(): number {
    return this.now() - this.startedAt;
  }

  /**
   * After the guest returned: `GAS_EXHAUSTED` if it spent more than its gas
   * in its last straight-line stretch (checks run at function entries, loop
   * headers and calls, so the overspend was not caught on the way).
   */
  overspent(): SandboxError | undefined {
    if (this.stopped === undefined && this.granted - this.counter() > this.limits.maxGas)
      this.stopped = 'gas';
    return this.stopped === 'gas'
      ? sandboxError.gasExhausted(this.limits.maxGas, this.limits.maxGas)
      : undefined;
  }

  /**
   * After the guest trapped: `GAS_EXHAUSTED`, `TIMEOUT` or `MEMORY_EXCEEDED`
   * if metering stopped it, `undefined` if the trap was the guest's own.
   */
  stopError(): SandboxError | undefined {
    const aborted = this.takeAbort();
    if (this.stopped === 'gas') return sandboxError.gasExhausted(this.limits.maxGas, this.limits.maxGas);
    if (this.stopped === 'time') return sandboxError.timeout(this.stoppedAtMs, this.limits.maxExecutionMs);
    if (aborted === ABORT_MEMORY) {
      const asked = this.control?.(CONTROL_READ_ABORT_ARGUMENT, 0) ?? 0;
      return sandboxError.memoryExceeded(asked, this.limits.maxMemoryBytes ?? FOUR_GIB);
    }
    return undefined;
  }

  /** Why the instrumented code trapped (0 if it did not say), clearing the flag for the next run. */
  private takeAbort(): number {
    return this.control?.(CONTROL_TAKE_ABORT, 0) ?? 0;
  }

  /** `TIMEOUT` if the run is past its time limit, for checks between guest and host code. */
  checkTime(): SandboxError | undefined {
    const at = this.now();
    if (this.stopped === undefined && at - this.startedAt >= this.limits.maxExecutionMs)
      this.stop('time', at);
    return this.stopped === 'time'
      ? sandboxError.timeout(this.stoppedAtMs, this.limits.maxExecutionMs)
      : undefined;
  }

  /**
   * Runs `call` under `limits`. Traps become typed errors: the metering
   * errors above, or `WASM_TRAP` via `classify` for the guest's own traps.
   */
  run<T>(
    limits: MeterLimits,
    call: () => T,
    classify: (error: unknown) => SandboxError = defaultClassify,
  ): MeteredRun<T> {
    const invalid = checkMeterLimits(limits);
    if (invalid !== undefined) return { ok: false, error: invalid, gasUsed: 0, durationMs: 0 };
    this.begin(limits);
    let result: Result<T, SandboxError>;
    try {
      const value = call();
      const overspent = this.overspent();
      result = overspent === undefined ? ok(value) : err(overspent);
    } catch (error) {
      result = err(this.stopError() ?? classify(error));
    }
    const gasUsed = this.gasUsed();
    const durationMs = this.elapsedMs();
    this.end();
    return result.ok
      ? { ok: true, value: result.value, gasUsed, durationMs }
      : { ok: false, error: result.error, gasUsed, durationMs };
  }
}

/**
 * `INVALID_CONFIG` naming the first field of `limits` that is not a limit, or `undefined`: `maxGas`
 * must be a whole number from 0 to 2^53 - 1, `maxExecutionMs` a number of milliseconds from 0 (up to
 * `Infinity`), and `maxMemoryBytes`, if given, a number of bytes from 0.
 */
export function checkMeterLimits(limits: unknown): InvalidConfigError | undefined {
  if (typeof limits !== 'object' || limits === null)
    return sandboxError.invalidConfig('limits', `must be an object, got ${shown(limits)}`);
  const { maxGas, maxExecutionMs, maxMemoryBytes } = limits as Record<string, unknown>;
  if (!(Number.isSafeInteger(maxGas) && (maxGas as number) >= 0))
    return sandboxError.invalidConfig('maxGas', `must be a whole number from 0, got ${shown(maxGas)}`);
  if (!(typeof maxExecutionMs === 'number' && maxExecutionMs >= 0))
    return sandboxError.invalidConfig(
      'maxExecutionMs',
      `must be a number of milliseconds from 0, got ${shown(maxExecutionMs)}`,
    );
  if (maxMemoryBytes !== undefined && !(typeof maxMemoryBytes === 'number' && maxMemoryBytes >= 0))
    return sandboxError.invalidConfig(
      'maxMemoryBytes',
      `must be a number of bytes from 0, got ${shown(maxMemoryBytes)}`,
    );
  return undefined;
}

/** `value` for a message: a number or a string as written, anything else by its type. */
function shown(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

function defaultClassify(error: unknown): SandboxError {
  return sandboxError.wasmTrap('unknown', thrownReason(error));
}
