/** Describing what a `catch` caught, whatever it is. */

/**
 * What `thrown` says, for an error message: an `Error`'s message, anything
 * else as a string. Never throws: a value that cannot be made a string (an
 * object without a prototype, a revoked proxy, a `message` getter that
 * throws) is described by its kind (`[object Object]`), or, if even that
 * fails, as unreadable.
 *
 * @example
 * ```ts
 * try {
 *   JSON.parse('{');
 * } catch (error) {
 *   console.log(`not JSON: ${thrownReason(error)}`);
 * }
 * ```
 */
export function thrownReason(thrown: unknown): string {
  try {
    return thrown instanceof Error ? thrown.message : String(thrown);
  } catch {
    try {
      return Object.prototype.toString.call(thrown);
    } catch {
      return 'a value that cannot be read';
    }
  }
}
