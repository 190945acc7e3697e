/** Small text helpers shared inside the sandbox package: honest JSON, readable values, digests. */
import { sha256Now } from './sha256';

/** `JSON.stringify` typed honestly: functions, symbols and `undefined` have no JSON form. */
export const stringifyJson: (
  value: unknown,
  replacer?: (key: string, value: unknown) => unknown,
) => string | undefined = JSON.stringify;

/** What an option was given, for its error message: a string quoted, a number or boolean as it is, else its kind. */
export function describeOption(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}

/** A value for people: JSON with bigints written `123n`, and `undefined` as `undefined`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  return stringifyJson(value, (_key, v) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined';
}

/**
 * Inputs up to this size are hashed here and now: Web Crypto answers in a task of its own, about
 * 70 µs in Node, while hashing 4 KiB in JavaScript takes about 27.
 */
const HASH_NOW_BYTES = 4096;

/** SHA-256 of `bytes`: small inputs in JavaScript, the others by Web Crypto (the same in browsers and Node). */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  if (bytes.length <= HASH_NOW_BYTES) return sha256Now(bytes);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/** `bytes` in lower-case hex. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 of `bytes`, in hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return hex(await sha256(bytes));
}
