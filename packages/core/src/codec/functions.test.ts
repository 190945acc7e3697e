import { describe, expect, it } from 'vitest';
import { wat } from '../../test/wat';
import { AppendedFunctions, functionSignature, localCount, paramCount } from './functions';
import { decodeModule, encodeModule } from './module';
import { ValType } from './types';

/** One imported function and two defined ones, the second with two locals. */
const module = decodeModule(
  wat(`(module
    (import "env" "f" (func (param i32)))
    (func (result i32) (i32.const 1))
    (func (param i64) (local i32 f64) (nop)))`),
);

describe('paramCount and localCount', () => {
  it('count a defined function parameters, and its locals with them', () => {
    expect([paramCount(module, 0), paramCount(module, 1)]).toEqual([0, 1]);
    expect([localCount(module, 0), localCount(module, 1)]).toEqual([0, 3]);
  });
});

describe('AppendedFunctions', () => {
  it('numbers what it appends after the imports and the module own functions', () => {
    const appended = new AppendedFunctions(module);
    expect(appended.add(0, { locals: [], code: new Uint8Array([0x0b]) })).toBe(3);
    expect(appended.add(1, { locals: [], code: new Uint8Array([0x41, 0x07, 0x0b]) })).toBe(4);
    const { functions, code } = appended.joined();
    expect(functions).toEqual([...module.functions, 0, 1]);
    expect(code.slice(0, 2)).toEqual(module.code);
    expect(code.map((body) => [...body.code])).toEqual([
      ...module.code.map((body) => [...body.code]),
      [0x0b],
      [0x41, 0x07, 0x0b],
    ]);
    // The module's own lists are left as they were.
    expect(module.functions).toHaveLength(2);
    expect(module.code).toHaveLength(2);
  });

  it('gives the module own lists back when nothing was appended', () => {
    const joined = new AppendedFunctions(module).joined();
    expect(joined.functions).toBe(module.functions);
    expect(joined.code).toBe(module.code);
  });

  it('joins the appended bodies to the rewritten ones it is given', () => {
    const rewritten = module.code.map((body) => ({
      locals: body.locals,
      code: new Uint8Array([0x01, 0x0b]),
    }));
    const appended = new AppendedFunctions(module);
    const index = appended.add(1, { locals: [], code: new Uint8Array([0x41, 0x00, 0x0b]) });
    const changed = Object.assign({}, module, appended.joined(rewritten));
    expect(changed.code.slice(0, 2)).toEqual(rewritten);
    expect(functionSignature(changed, index)).toEqual({ params: [], results: [ValType.i32] });
    expect(localCount(changed, 1)).toBe(3);
    // What it makes encodes and decodes to the same module.
    expect(decodeModule(encodeModule(changed)).functions).toEqual([...module.functions, 1]);
  });
});
