import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURE_NAMES, fixture } from '@ri-sandbox/test-fixtures';
import { anyInstruction } from '../../test/arbitrary';
import { ByteReader } from './bytes';
import { decodeInstructions, encodeInstructions, instruction, skipInstruction } from './instructions';
import { decodeModule } from './module';

/** The [start, end) byte span of every instruction, by skipping. */
function spans(code: Uint8Array): [string, number, number][] {
  const reader = new ByteReader(code);
  const result: [string, number, number][] = [];
  while (!reader.done) {
    const start = reader.offset;
    const op = skipInstruction(reader);
    result.push([op.name, start, reader.offset]);
  }
  return result;
}

describe('skipInstruction', () => {
  it('finds the same instruction boundaries as decoding, for any instruction (property)', () => {
    fc.assert(
      fc.property(fc.array(anyInstruction, { maxLength: 30 }), (list) => {
        const code = encodeInstructions(list);
        const skipped = spans(code);
        expect(skipped.map(([name]) => name)).toEqual(list.map((i) => i.op.name));
        skipped.forEach(([, start, end], i) => {
          expect(code.subarray(start, end)).toEqual(encodeInstructions([list[i]!]));
        });
      }),
      { numRuns: 500 },
    );
  });

  it.each(FIXTURE_NAMES)('walks every body of %s', (name) => {
    for (const body of decodeModule(fixture(name)).code) {
      expect(spans(body.code).map(([op]) => op)).toEqual(decodeInstructions(body.code).map((i) => i.op.name));
    }
  });

  it('rejects unknown opcodes and truncated immediates', () => {
    expect(() => skipInstruction(new ByteReader(new Uint8Array([0xff])))).toThrow(/unknown opcode 0xff/);
    const v128 = encodeInstructions([instruction('v128.const', new Uint8Array(16))]);
    expect(() => skipInstruction(new ByteReader(v128.subarray(0, 10)))).toThrow(/unexpected end/);
  });
});
