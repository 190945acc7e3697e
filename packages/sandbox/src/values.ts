/**
 * Checking values that cross between host and guest against their declared
 * WebAssembly types. Nothing is silently coerced: a float passed as an i32,
 * or a number returned for an i64 that is not a safe integer, is refused.
 */
import type { WasmValue, WasmValueType } from '@ri-sandbox/core';

const I32_MIN = -(2 ** 31);
const U32_MAX = 2 ** 32 - 1;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/** A value as a short message shows it: `5`, `5n`, `"text"`, `null`, `object` (never throws). */
export function shortDescription(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

/**
 * `value` as a `type` argument or result, or a sentence saying why it is not one.
 * i32 takes integers in [-2^31, 2^32) (signed or unsigned form); i64 takes bigints
 * in [-2^63, 2^64) or safe-integer numbers; f32 and f64 take any number.
 */
export function toWasmValue(type: WasmValueType, value: unknown): WasmValue | string {
  switch (type) {
    case 'i32':
      if (typeof value === 'number' && Number.isInteger(value) && value >= I32_MIN && value <= U32_MAX)
        return value;
      return `expected an i32 (an integer from -2^31 to 2^32-1), got ${shortDescription(value)}`;
    case 'i64':
      if (typeof value === 'bigint' && value >= I64_MIN && value <= U64_MAX) return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      return `expected an i64 (a bigint, or a safe integer), got ${shortDescription(value)}`;
    case 'f32':
    case 'f64':
      if (typeof value === 'number') return value;
      return `expected an ${type} (a number), got ${shortDescription(value)}`;
  }
}

/**
 * Converts a list of values to `types`, or explains the first mismatch.
 * `what` names the values in the explanation ("argument", "result").
 */
export function toWasmValues(
  types: readonly WasmValueType[],
  values: readonly unknown[],
  what: string,
): WasmValue[] | string {
  if (values.length !== types.length) {
    return `expected ${types.length} ${what}${types.length === 1 ? '' : 's'} (${types.join(', ')}), got ${values.length}`;
  }
  const converted: WasmValue[] = [];
  for (let i = 0; i < types.length; i++) {
    const value = toWasmValue(types[i] as WasmValueType, values[i]);
    if (typeof value === 'string') return `${what} ${i}: ${value}`;
    converted.push(value);
  }
  return converted;
}
