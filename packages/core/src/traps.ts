/**
 * Turns whatever an engine throws out of guest code into a stable
 * {@link TrapKind}. Engines word their traps differently; the patterns below
 * cover V8 (Node, Chromium), SpiderMonkey (Firefox) and JavaScriptCore (Safari, Bun).
 */
import type { TrapKind } from './errors';
import { thrownReason } from './thrown';

const PATTERNS: readonly (readonly [RegExp, TrapKind])[] = [
  [/unreachable/i, 'unreachable'],
  [/divide by zero|remainder by zero|division by zero|integer divide by zero/i, 'divide_by_zero'],
  [/unrepresentable in integer|invalid conversion|trunc operation/i, 'invalid_conversion'],
  [/divide result unrepresentable|integer overflow/i, 'integer_overflow'],
  [
    /signature mismatch|null function|null table entry|indirect call|call_indirect to a signature/i,
    'indirect_call_mismatch',
  ],
  [
    /table index is out of bounds|out of bounds call_indirect|table.*out of bounds|element segment/i,
    'out_of_bounds_table',
  ],
  [
    /memory access out of bounds|out of bounds memory|index out of bounds|data segment|memory.*out of bounds/i,
    'out_of_bounds_memory',
  ],
  [/call stack|too much recursion|stack overflow/i, 'stack_overflow'],
];

// `WebAssembly.Exception` (exception handling) is not in TypeScript's DOM typings.
const WasmException = (WebAssembly as unknown as { Exception?: abstract new (...args: never[]) => unknown })
  .Exception;

/** A classified trap: its stable kind and the engine's own words. */
export interface ClassifiedTrap {
  readonly trapKind: TrapKind;
  readonly message: string;
}

/**
 * Classifies an exception thrown while guest code ran. Anything that is not a
 * recognisable trap (a host bug, say) comes back as `unknown` with its message.
 */
export function classifyTrap(thrown: unknown): ClassifiedTrap {
  if (WasmException !== undefined && thrown instanceof WasmException) {
    return {
      trapKind: 'uncaught_exception',
      message: 'the guest threw a WebAssembly exception it did not catch',
    };
  }
  const message = thrownReason(thrown);
  for (const [pattern, trapKind] of PATTERNS) {
    if (pattern.test(message)) return { trapKind, message };
  }
  return { trapKind: 'unknown', message };
}
