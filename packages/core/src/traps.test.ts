import { describe, expect, it } from 'vitest';
import { classifyTrap } from './traps';

describe('classifyTrap', () => {
  // Messages as V8, SpiderMonkey and JavaScriptCore word them.
  it.each([
    ['unreachable', 'unreachable'],
    ['unreachable executed', 'unreachable'],
    ['Unreachable code should not be executed', 'unreachable'],
    ['memory access out of bounds', 'out_of_bounds_memory'],
    ['index out of bounds', 'out_of_bounds_memory'],
    ['Out of bounds memory access', 'out_of_bounds_memory'],
    ['divide by zero', 'divide_by_zero'],
    ['remainder by zero', 'divide_by_zero'],
    ['integer divide by zero', 'divide_by_zero'],
    ['Division by zero', 'divide_by_zero'],
    ['divide result unrepresentable', 'integer_overflow'],
    ['integer overflow', 'integer_overflow'],
    ['Integer overflow', 'integer_overflow'],
    ['float unrepresentable in integer range', 'invalid_conversion'],
    ['invalid conversion to integer', 'invalid_conversion'],
    ['Out of bounds Trunc operation', 'invalid_conversion'],
    ['null function or function signature mismatch', 'indirect_call_mismatch'],
    ['indirect call signature mismatch', 'indirect_call_mismatch'],
    ['indirect call to null', 'indirect_call_mismatch'],
    ['call_indirect to a null table entry', 'indirect_call_mismatch'],
    ['call_indirect to a signature that does not match', 'indirect_call_mismatch'],
    ['table index is out of bounds', 'out_of_bounds_table'],
    ['Out of bounds call_indirect', 'out_of_bounds_table'],
    ['Maximum call stack size exceeded', 'stack_overflow'],
    ['too much recursion', 'stack_overflow'],
    ['something else entirely', 'unknown'],
  ])('%s -> %s', (message, kind) => {
    expect(classifyTrap(new Error(message))).toEqual({ trapKind: kind, message });
  });

  it('recognises an uncaught WebAssembly exception', () => {
    const Exception = (
      WebAssembly as unknown as { Exception: new (tag: unknown, payload: unknown[]) => unknown }
    ).Exception;
    const Tag = (WebAssembly as unknown as { Tag: new (type: { parameters: string[] }) => unknown }).Tag;
    expect(classifyTrap(new Exception(new Tag({ parameters: [] }), [])).trapKind).toBe('uncaught_exception');
  });

  it('describes non-errors', () => {
    expect(classifyTrap('boom')).toEqual({ trapKind: 'unknown', message: 'boom' });
  });
});
