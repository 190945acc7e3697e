/**
 * The default monotonic clock of meters and sandboxes.
 */

/** The platform's `performance`, looked up once: in Node, each lookup of the global is a lazy getter's call. */
const PERFORMANCE = globalThis.performance;

/**
 * Milliseconds from the platform's monotonic clock (`performance.now()`).
 *
 * @example
 * ```ts
 * const started = monotonicNow();
 * const elapsedMs = monotonicNow() - started;
 * ```
 */
export function monotonicNow(): number {
  return PERFORMANCE.now();
}
