/** Small text helpers shared inside the sandbox package: honest JSON, readable values, digests. */

/** `JSON.stringify` typed honestly: functions, symbols and `undefined` have no JSON form. */
export const stringifyJson: (
  value: unknown,
  replacer?: (key: string, value: unknown) => unknown,
) => string | undefined = JSON.stringify;

/** A value for people: JSON with bigints written `123n`, and `undefined` as `undefined`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  return stringifyJson(value, (_key, v) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined';
}

/** SHA-256 of `bytes` (web crypto: the same in browsers and Node). */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
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
