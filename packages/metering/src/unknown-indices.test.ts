import { describe, expect, it } from 'vitest';
import { type WasmModule, decodeModule, encodeModule } from '@ri-sandbox/core';
import { wat } from '../../core/test/wat';
import { meterModule } from './instrument';

/**
 * A module with one of everything a body can index: two locals in `$body` (a parameter and an i64),
 * one global, two functions, two types (the first with a parameter), one table, one element segment.
 */
function moduleWith(memory: boolean): WasmModule {
  return decodeModule(
    wat(`(module
      (type $t (func (param i32) (result i32)))
      (import "env" "f" (func $f))
      (global $g (mut i32) (i32.const 0))
      (table 1 funcref)
      ${memory ? '(memory 1)' : ''}
      (elem funcref (ref.func $body))
      (func $body (param i32) (result i32) (local i64) (local.get 0)))`),
  );
}

/** `module` with `code` (an `end` appended) as its one defined function's body. */
function withBody(module: WasmModule, code: readonly number[]): WasmModule {
  const { locals } = module.code[0] as WasmModule['code'][number];
  return Object.assign({}, module, { code: [{ locals, code: Uint8Array.from([...code, 0x0b]) }] });
}

/** What metering makes of `module`: why it refused it, or whether the input and the output validate. */
function metered(module: WasmModule): string | { input: boolean; output: boolean } {
  const result = meterModule(module);
  if (!result.ok) return result.error.code === 'INVALID_MODULE' ? result.error.reason : result.error.message;
  return {
    input: WebAssembly.validate(encodeModule(module)),
    output: WebAssembly.validate(encodeModule(result.value)),
  };
}

const VALID = { input: true, output: true };

describe('metering a body that names what is not there', () => {
  // Each case: an instruction naming the first index past its space (refused), and one naming the last
  // index inside it (metered, valid). The five-byte LEB128 of 0 is the longest the binary format allows.
  it.each<[string, number[], number[], string]>([
    ['local.get', [0x20, 2], [0x20, 1, 0x1a, 0x20, 0], 'unknown local 2'],
    ['local.set', [0x41, 0, 0x21, 2, 0x20, 0], [0x41, 0, 0x21, 0, 0x20, 0], 'unknown local 2'],
    ['local.tee', [0x20, 0, 0x22, 5], [0x20, 0, 0x22, 0], 'unknown local 5'],
    ['global.get', [0x23, 1, 0x1a, 0x20, 0], [0x23, 0], 'unknown global 1'],
    ['global.set', [0x41, 0, 0x24, 1, 0x20, 0], [0x41, 0, 0x24, 0, 0x20, 0], 'unknown global 1'],
    // Two-byte indices leave the scan's fast case for local and global accesses for its general path.
    [
      'local.get, its index two bytes long',
      [0x20, 0x82, 0x00],
      [0x20, 0x81, 0x00, 0x1a, 0x20, 0x80, 0x00],
      'unknown local 2',
    ],
    [
      'global.get, its index two bytes long',
      [0x23, 0x81, 0x00, 0x1a, 0x20, 0],
      [0x23, 0x80, 0x00],
      'unknown global 1',
    ],
    ['call', [0x10, 2, 0x20, 0], [0x10, 0, 0x20, 0], 'unknown function 2'],
    ['return_call', [0x20, 0, 0x12, 2], [0x20, 0, 0x12, 1], 'unknown function 2'],
    ['ref.func', [0xd2, 2, 0x1a, 0x20, 0], [0xd2, 1, 0x1a, 0x20, 0], 'unknown function 2'],
    [
      'call, its index overlong',
      [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x20, 0],
      [0x10, 0x80, 0x80, 0x80, 0x80, 0x00, 0x20, 0],
      'unknown function 0',
    ],
    ['call_indirect', [0x20, 0, 0x20, 0, 0x11, 2, 0], [0x20, 0, 0x20, 0, 0x11, 0, 0], 'unknown type 2'],
    ['a block type', [0x20, 0, 0x02, 2, 0x0b], [0x20, 0, 0x02, 0, 0x0b], 'unknown type 2'],
    ['a loop type', [0x20, 0, 0x03, 2, 0x0b], [0x20, 0, 0x03, 0, 0x0b], 'unknown type 2'],
    [
      'an if type',
      [0x20, 0, 0x20, 0, 0x04, 2, 0x05, 0x0b],
      [0x20, 0, 0x20, 0, 0x04, 0, 0x05, 0x0b],
      'unknown type 2',
    ],
    [
      'table.init',
      [0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 12, 1, 0, 0x20, 0],
      [0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 12, 0, 0, 0x20, 0],
      'unknown element segment 1',
    ],
    ['elem.drop', [0xfc, 13, 1, 0x20, 0], [0xfc, 13, 0, 0x20, 0], 'unknown element segment 1'],
    ['memory.grow', [0x41, 0, 0x40, 1, 0x1a, 0x20, 0], [0x41, 0, 0x40, 0, 0x1a, 0x20, 0], 'unknown memory 1'],
  ])('refuses %s past the end of its space, and meters it inside', (_name, past, inside, reason) => {
    const module = moduleWith(true);
    // Where the input fails validation the output must too: here it is refused, with the engines' wording.
    expect(metered(withBody(module, past))).toMatch(new RegExp(`^${reason} \\(at byte \\d+\\)$`));
    expect(metered(withBody(module, inside))).toEqual(VALID);
  });

  it('refuses memory.grow in a module without memory', () => {
    expect(metered(withBody(moduleWith(false), [0x41, 0, 0x40, 0, 0x1a, 0x20, 0]))).toMatch(
      /^unknown memory 0/,
    );
  });

  it('checks the indices in code that cannot be reached, as validation does', () => {
    expect(metered(withBody(moduleWith(true), [0x00, 0x20, 9]))).toMatch(/^unknown local 9/);
  });

  it("refuses an index past the module's own outside bodies", () => {
    const module = moduleWith(true);
    const exported = Object.assign({}, module, { exports: [{ name: 'g', kind: 'global', index: 1 }] });
    expect(metered(exported)).toBe('unknown global 1 in export "g"');
  });
});
