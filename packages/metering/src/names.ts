/** Names the instrumentation adds to a module. All start with `__ri_`: a module that exports such a name is refused. */

/** What every name the instrumentation adds starts with. */
export const RESERVED_PREFIX = '__ri_';
/** Import module of the refill function the host provides. */
export const METERING_IMPORT_MODULE = '__ri_metering';
/** `refill(gasLeft: i64) -> i64`: called when the gas counter goes negative; returns the new counter, or a negative value to stop. */
export const REFILL_IMPORT = 'refill';
/**
 * Exported function `(op: i32, value: f64) -> f64`: the host's way to the counters, which are
 * globals the module does not export: the gas left in the current grant (an i64), the abort flag
 * (an i32: why the instrumentation trapped, see the `ABORT_*` codes, 0 if it did not) and its
 * argument (an i64: for a memory abort, the bytes asked for). Numbers cross as f64 (exact up to
 * 2^53): a read of an i64 global makes a BigInt (about 40 ns in V8, against a few for this call),
 * and one export costs an instantiation less than three globals would.
 */
export const CONTROL_EXPORT = '__ri_meter';
/** `op` of {@link CONTROL_EXPORT}: returns the gas counter. */
export const CONTROL_READ_GAS = 0;
/** `op` of {@link CONTROL_EXPORT}: sets the gas counter to `value` (a whole number); returns 0. */
export const CONTROL_WRITE_GAS = 1;
/** `op` of {@link CONTROL_EXPORT}: returns the abort flag and clears it. */
export const CONTROL_TAKE_ABORT = 2;
/** `op` of {@link CONTROL_EXPORT}: returns the abort's argument. */
export const CONTROL_READ_ABORT_ARGUMENT = 3;
/** The host's refill stopped the guest (gas exhausted or time is up). */
export const ABORT_STOPPED = 1;
/** `memory.grow` could not grow the memory. */
export const ABORT_MEMORY = 2;
