import { describe, expect, it } from 'vitest';
import { wat } from '../../test/wat';
import { findUnknownIndex, indexSpaces } from './indices';
import { instruction } from './instructions';
import { decodeModule } from './module';
import type { ElementSegment, WasmModule } from './types';

/** A valid module that uses every index space outside bodies. */
const VALID = decodeModule(
  wat(`(module
    (type $v (func))
    (import "env" "f" (func $f (type $v)))
    (import "env" "g" (global $g i32))
    (import "env" "t" (table 1 funcref))
    (import "env" "m" (memory 1))
    (func $h (type $v))
    (global $own i32 (global.get $g))
    (global $ref funcref (ref.func $h))
    (export "h" (func $h))
    (export "own" (global $own))
    (export "t" (table 0))
    (export "m" (memory 0))
    (start $h)
    (elem (i32.const 0) $f $h)
    (elem funcref (ref.func $h))
    (data (i32.const 0) "x"))`),
);

/** `VALID` with `fields` in place of its own. */
function changed(fields: Partial<WasmModule>): WasmModule {
  return Object.assign({}, VALID, fields);
}

describe('indexSpaces', () => {
  it('counts imports and definitions in each space', () => {
    expect(indexSpaces(VALID)).toEqual({
      types: 1,
      functions: 2,
      tables: 1,
      memories: 1,
      globals: 3,
      tags: 0,
      elements: 2,
      data: 1,
    });
  });
});

describe('findUnknownIndex', () => {
  it('finds nothing in a valid module', () => {
    expect(findUnknownIndex(VALID)).toBeUndefined();
  });

  it('finds nothing in imports that have no type, in a module without types', () => {
    const imports = decodeModule(
      wat(
        '(module (import "env" "m" (memory 1)) (import "env" "g" (global i32)) (import "env" "t" (table 1 funcref)))',
      ),
    );
    expect(imports.types).toEqual([]);
    expect(findUnknownIndex(imports)).toBeUndefined();
  });

  it.each<[string, Partial<WasmModule>, string]>([
    [
      "an import's type",
      {
        imports: [
          { module: 'env', name: 'f', descriptor: { kind: 'function', type: 1 } },
          ...VALID.imports.slice(1),
        ],
      },
      'unknown type 1 in import env.f',
    ],
    ["a defined function's type", { functions: [3] }, 'unknown type 3 in the type of defined function 0'],
    ["a defined tag's type", { tags: [{ type: 1 }] }, 'unknown type 1 in the type of defined tag 0'],
    [
      "a global's initializer",
      { globals: [{ type: { valueType: 0x7f, mutable: false }, init: [instruction('global.get', 3)] }] },
      'unknown global 3 in the initializer of defined global 0',
    ],
    [
      'a function export',
      { exports: [{ name: 'x', kind: 'function', index: 2 }] },
      'unknown function 2 in export "x"',
    ],
    [
      'a global export',
      { exports: [{ name: 'x', kind: 'global', index: 3 }] },
      'unknown global 3 in export "x"',
    ],
    [
      'a memory export',
      { exports: [{ name: 'x', kind: 'memory', index: 1 }] },
      'unknown memory 1 in export "x"',
    ],
    ['the start function', { start: 2 }, 'unknown function 2 in the start section'],
    [
      "an element segment's function",
      { elements: [Object.assign({}, VALID.elements[0], { init: { kind: 'functions', indices: [0, 2] } })] },
      'unknown function 2 in element segment 0',
    ],
    [
      "an element segment's table",
      { elements: [Object.assign({}, VALID.elements[0], { table: 1 })] },
      'unknown table 1 in element segment 0',
    ],
    [
      "an element segment's expression",
      {
        elements: [
          VALID.elements[0] as ElementSegment,
          Object.assign({}, VALID.elements[1], {
            init: { kind: 'expressions', expressions: [[instruction('ref.func', 5)]] },
          }),
        ],
      },
      'unknown function 5 in element segment 1',
    ],
    [
      "a data segment's memory",
      { data: [Object.assign({}, VALID.data[0], { memory: 1 })] },
      'unknown memory 1 in data segment 0',
    ],
    [
      "a data segment's offset",
      { data: [Object.assign({}, VALID.data[0], { offset: [instruction('global.get', 9)] })] },
      'unknown global 9 in data segment 0',
    ],
  ])('finds %s past its space', (_what, fields, reason) => {
    expect(findUnknownIndex(changed(fields))).toBe(reason);
  });

  it('wants a start function that takes and returns nothing', () => {
    const types = [
      { params: [], results: [] },
      { params: [0x7f], results: [] },
    ] as WasmModule['types'];
    expect(findUnknownIndex(changed({ types, functions: [1] }))).toBe(
      'the start function 1 must take and return nothing',
    );
    const imports = [
      { module: 'env', name: 'f', descriptor: { kind: 'function', type: 1 } },
    ] as WasmModule['imports'];
    expect(
      findUnknownIndex(
        changed({ types, imports, globals: [], exports: [], elements: [], data: [], start: 0 }),
      ),
    ).toBe('the start function 0 must take and return nothing');
  });
});
