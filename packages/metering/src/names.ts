/** Names the instrumentation adds to a module. All start with `__ri_`, which guests may not use. */

/** Import module of the refill function the host provides. */
export const METERING_IMPORT_MODULE = '__ri_metering';
/** `refill(gasLeft: i64) -> i64`: called when the gas counter goes negative; returns the new counter, or a negative value to stop. */
export const REFILL_IMPORT = 'refill';
/** Exported mutable i64 global: gas left in the current grant. */
export const GAS_EXPORT = '__ri_gas';
/**
 * Exported function `() -> f64`: the gas counter, as a number. The host reads it
 * through this rather than the global, whose i64 value reaches JavaScript as a
 * BigInt (about 40 ns a read in V8, against a few for this call).
 */
export const GAS_LEFT_EXPORT = '__ri_gas_left';
/** Exported mutable i32 global: why the instrumentation trapped (see the `ABORT_*` codes), 0 if it did not. */
export const ABORT_EXPORT = '__ri_abort';
/** Exported mutable i64 global: detail of the abort (for a memory abort, the bytes asked for). */
export const ABORT_ARG_EXPORT = '__ri_abort_arg';

/** The host's refill stopped the guest (gas exhausted or time is up). */
export const ABORT_STOPPED = 1;
/** `memory.grow` could not grow the memory. */
export const ABORT_MEMORY = 2;
