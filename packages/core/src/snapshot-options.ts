/**
 * The options of `snapshot` (see {@link SnapshotOptions}), checked the same
 * way by every sandbox that takes them, in this thread or through a worker.
 */
import { type InvalidConfigError, sandboxError } from './errors';
import { readableBytes } from './readable-bytes';
import { type Result, err, ok } from './result';
import type { SnapshotOptions } from './types';

/** What a value given where an object or a `Uint8Array` was expected is, for the error's reason. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `a ${typeof value}`;
  try {
    if (Array.isArray(value)) return 'an array';
    // A null-prototype object has no constructor.
    const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' ? name : 'an object';
  } catch {
    // A proxy whose reading throws, or a revoked one.
    return 'an object';
  }
}

/**
 * `options.into` of a call to `snapshot`: the buffer to write the snapshot
 * into, or undefined for a new one. `INVALID_CONFIG` if `options` is given
 * and is not an object, if `into` is given and is not a `Uint8Array`, or if
 * reading it throws.
 */
export function snapshotInto(options: unknown): Result<Uint8Array | undefined, InvalidConfigError> {
  if (options === undefined) return ok(undefined);
  if (typeof options !== 'object' || options === null)
    return err(sandboxError.invalidConfig('snapshot options', `expected an object, got ${kindOf(options)}`));
  let into: unknown;
  try {
    into = (options as SnapshotOptions).into;
  } catch {
    return err(sandboxError.invalidConfig('into', 'reading it threw'));
  }
  if (into === undefined || readableBytes(into) === into) return ok(into as Uint8Array | undefined);
  return err(
    sandboxError.invalidConfig('into', `expected a Uint8Array (not a proxy of one), got ${kindOf(into)}`),
  );
}

/** `snapshot` at the start of `into` (a view of it) if it fits, else in a copy of its own. */
export function snapshotCopy(snapshot: Uint8Array, into: Uint8Array | undefined): Uint8Array {
  if (into === undefined || into.length < snapshot.length) return snapshot.slice();
  into.set(snapshot);
  return into.subarray(0, snapshot.length);
}
