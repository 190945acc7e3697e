/**
 * Calls and replies as text, for the shared-memory channel: JSON, with tags
 * for what JSON cannot say exactly (`bigint`, `undefined`, `-0`, `NaN`, the
 * infinities, `Uint8Array`). What structured clone would carry differently
 * (a class instance, an `Error`, a `Map`, a cycle, a key named `$ri`) is
 * refused: such a call or reply goes by message instead, so both paths give
 * the same values.
 */

import { decodeBase64 } from '@ri-sandbox/core';

/** The key of a tagged value. */
const TAG = '$ri';
/** Deeper than any result the sandbox builds: a cycle ends here. */
const MAX_DEPTH = 64;

/** Marks a value the wire cannot carry exactly. */
class Unsupported extends Error {}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, Math.min(i + 0x8000, bytes.length)));
  return btoa(binary);
}

/** `value` as JSON text, with tagged objects for what JSON would not keep exactly (written directly: no copy). */
function write(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0)
        ? String(value)
        : `{"${TAG}":"n","v":"${Object.is(value, -0) ? '-0' : String(value)}"}`;
    case 'bigint':
      return `{"${TAG}":"b","v":"${value.toString()}"}`;
    case 'undefined':
      return `{"${TAG}":"u"}`;
    case 'object':
      return value === null ? 'null' : writeObject(value, depth);
    default:
      throw new Unsupported();
  }
}

function writeObject(value: object, depth: number): string {
  if (depth > MAX_DEPTH) throw new Unsupported();
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + write(value[i], depth + 1);
    return `${text}]`;
  }
  if (value instanceof Uint8Array && value.constructor === Uint8Array)
    return `{"${TAG}":"y","v":"${base64(value)}"}`;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) throw new Unsupported();
  let text = '{';
  let first = true;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (key === TAG) throw new Unsupported();
    text += `${first ? '' : ','}${JSON.stringify(key)}:${write((value as Record<string, unknown>)[key], depth + 1)}`;
    first = false;
  }
  return `${text}}`;
}

/** `value` as wire text, or `undefined` if it holds something the wire cannot carry exactly. */
export function toWire(value: unknown): string | undefined {
  try {
    return write(value, 0);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/** `value` (parsed JSON) with its tagged objects turned back into what they stand for, in place. */
function untagged(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = untagged(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  const tag = record[TAG];
  if (tag !== undefined) {
    const text = record['v'] as string;
    return tag === 'n'
      ? Number(text)
      : tag === 'b'
        ? BigInt(text)
        : tag === 'y'
          ? decodeBase64(text)
          : undefined;
  }
  for (const key of Object.keys(record)) record[key] = untagged(record[key]);
  return record;
}

/** The value `text` (from {@link toWire}) stands for. */
export function fromWire(text: string): unknown {
  return untagged(JSON.parse(text));
}
