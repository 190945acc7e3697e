import { describe, expect, it } from 'vitest';
import { ValType, valTypeName } from './types';

describe('valTypeName', () => {
  it('names every value type by its byte, and any other byte in hex', () => {
    expect(Object.values(ValType).map(valTypeName)).toEqual(Object.keys(ValType));
    expect(valTypeName(0x7f)).toBe('i32');
    expect(valTypeName(0x40)).toBe('0x40');
    expect(valTypeName(0x6e)).toBe('0x6e');
  });
});
