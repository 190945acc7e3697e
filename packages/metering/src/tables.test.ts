import { describe, expect, it } from 'vitest';
import { decodeModule } from '@ri-sandbox/core';
import { wat } from '../../core/test/wat';
import { ownTables } from './tables';

/** The own tables of a module importing `$host` (and `imports`), defining `$a`, `$b` and `fields`. */
const own = (fields: string, imports = '') => [
  ...ownTables(
    decodeModule(wat(`(module (import "env" "f" (func $host)) ${imports} (func $a) (func $b) ${fields})`)),
  ),
];

describe('ownTables', () => {
  it("keeps the funcref tables whose segments name only the module's functions, or null", () => {
    expect(own('(table 2 funcref) (elem (i32.const 0) $a $b)')).toEqual([0]);
    expect(own('(table 2 funcref) (elem (i32.const 0) funcref (ref.func $a) (ref.null func))')).toEqual([0]);
    // Passive and declared segments reach a table only through table.init, which the scan reports.
    expect(own('(table 1 funcref) (elem funcref (ref.func $host)) (elem declare func $host)')).toEqual([0]);
    expect(own('(table 1 externref)')).toEqual([]);
  });

  it('leaves out tables that may hold a host function', () => {
    expect(own('(table 1 funcref) (elem (i32.const 0) $host)')).toEqual([]);
    expect(own('(table 1 funcref) (elem (i32.const 0) funcref (ref.func $host))')).toEqual([]);
    // An imported global may hold anything the host likes.
    const global = '(import "env" "g" (global $g funcref))';
    expect(own('(table 1 funcref) (elem (i32.const 0) funcref (item global.get 0))', global)).toEqual([]);
    expect(own('(table (export "t") 1 funcref)')).toEqual([]);
  });

  it('numbers defined tables after imported ones, and judges each table on its own', () => {
    const module = decodeModule(
      wat(`(module
        (import "env" "t" (table 1 funcref))
        (func $a)
        (table $mine 1 funcref)
        (table $other 1 funcref)
        (elem (table $mine) (i32.const 0) func $a)
        (export "other" (table $other)))`),
    );
    expect([...ownTables(module)]).toEqual([1]);
  });
});
