/**
 * Bytes given to a public entry point, as something the sandbox can read
 * without an exception: a proxy of a byte array, or a detached buffer, would
 * otherwise throw from the first read of its length.
 */

/** `ArrayBuffer.prototype.byteLength`'s getter, which reads an internal slot that only an ArrayBuffer has. */
const byteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength') as {
  readonly get: (this: unknown) => number;
};

/**
 * `value` as a byte array the sandbox can read: `value` itself if it is a
 * `Uint8Array`, a view of it if it is a live `ArrayBuffer`, or `undefined`
 * for anything else (a proxy of either, a detached buffer, a
 * `SharedArrayBuffer`, another type). Never throws.
 *
 * @example
 * ```ts
 * readableBytes(new Uint8Array([0, 97, 115, 109])); // the same array
 * readableBytes(new Proxy(new Uint8Array(4), {})); // undefined
 * ```
 */
export function readableBytes(value: unknown): Uint8Array | undefined {
  // Brand checks, which look at internal slots that a proxy does not have.
  if (ArrayBuffer.isView(value)) return value instanceof Uint8Array ? value : undefined;
  try {
    // The getter throws for anything but an ArrayBuffer; the view, for a detached one.
    byteLength.get.call(value);
    return new Uint8Array(value as ArrayBuffer);
  } catch {
    // Not an ArrayBuffer, or a detached one.
    return undefined;
  }
}
