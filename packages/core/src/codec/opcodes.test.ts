import { describe, expect, it } from 'vitest';
import { wat } from '../../test/wat';
import { decodeModule } from './module';
import { decodeInstructions, encodeInstructions } from './instructions';
import { type Opcode, OPCODES, opcodeByKey, opcodeByName, opcodeKey } from './opcodes';

/** The text form of one instruction with a plausible immediate, as wabt reads it. */
function textOf(op: Opcode): string {
  const structured: Record<string, string> = {
    else: 'if (result i32) i32.const 1 else i32.const 2 end',
    end: 'nop',
    catch: 'try catch $e end',
    catch_all: 'try catch_all end',
    delegate: 'try delegate 0',
    rethrow: 'try catch_all rethrow 0 end',
  };
  const special = structured[op.name];
  if (special !== undefined) return special;
  const name = op.immediate === 'select_types' ? 'select' : op.name;
  switch (op.immediate) {
    case 'none':
    case 'memory':
    case 'memory.copy':
    case 'table.copy':
    case 'fence':
      return name;
    case 'blocktype':
      return `${name} (result i32) i32.const 0 end`;
    case 'label':
      return `${name} 0`;
    case 'br_table':
      return `${name} 0 0 0`;
    case 'function':
      return `${name} $f`;
    case 'call_indirect':
      return `${name} (type $t)`;
    case 'local':
      return `${name} 0`;
    case 'global':
      return `${name} $g`;
    case 'table':
      return `${name} 0`;
    case 'tag':
      return `${name} $e`;
    case 'memarg':
      return `${name} offset=1234567`;
    case 'i32':
      return `${name} -123456789`;
    case 'i64':
      return `${name} -1234567890123456789`;
    case 'f32':
      return `${name} -nan:0x200001`;
    case 'f64':
      return `${name} nan:0x8000000000001`;
    case 'select_types':
      return `${name} (result f64)`;
    case 'heaptype':
      return `${name} extern`;
    case 'data':
    case 'memory.init':
      return `${name} $d`;
    case 'elem':
    case 'table.init':
      return `${name} $el`;
    case 'v128':
      return `${name} i32x4 1 -2 3 0x7fffffff`;
    case 'shuffle':
      return `${name} 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31`;
    case 'lane':
      return `${name} 1`;
    case 'memarg_lane':
      return `${name} offset=16 1`;
  }
}

function moduleWith(body: string): string {
  return `(module
    (type $t (func (param i32) (result i32)))
    (memory 1 1 shared)
    (table 2 funcref)
    (global $g (mut i32) (i32.const 0))
    (tag $e (param i32))
    (data $d "abc")
    (elem $el func $f)
    (func $f (param i32) (result i32) (local i64 v128)
      ${body}
    ))`;
}

describe('the opcode table', () => {
  it('has unique keys and unique names', () => {
    expect(new Set(OPCODES.map((op) => op.key)).size).toBe(OPCODES.length);
    for (const op of OPCODES) {
      expect(opcodeByKey(op.key)).toBe(op);
      expect(opcodeByName(op.immediate === 'select_types' ? 'select_t' : op.name)).toBe(op);
      expect(op.key).toBe(opcodeKey(op.prefix, op.code));
    }
  });

  it('covers every instruction Node 20 validates by default, plus relaxed SIMD', () => {
    const counts = new Map<string, number>();
    for (const op of OPCODES) counts.set(op.feature, (counts.get(op.feature) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({
      mvp: 172,
      exceptions: 6,
      'tail-call': 2,
      'reference-types': 9,
      'sign-extension': 5,
      'saturating-float-to-int': 8,
      'bulk-memory': 7,
      simd: 236,
      'relaxed-simd': 20,
      threads: 67,
    });
  });

  // Every row is checked against an independent encoder: wabt compiles the text
  // form, our decoder must name the same instruction, and our encoder must give
  // back wabt's bytes exactly.
  describe.each(
    OPCODES.map((op) => [op.name + (op.immediate === 'select_types' ? ' (typed)' : ''), op] as const),
  )('%s', (_label, op) => {
    it('matches wabt', () => {
      const bytes = wat(moduleWith(textOf(op)), { validate: false });
      const body = decodeModule(bytes).code[0]!.code;
      const instructions = decodeInstructions(body);
      expect(instructions.map((i) => i.op)).toContain(op);
      expect(encodeInstructions(instructions)).toEqual(body);
    });
  });
});
