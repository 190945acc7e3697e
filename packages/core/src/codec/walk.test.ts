import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURE_NAMES, fixture } from '@ri-sandbox/test-fixtures';
import { anyInstruction } from '../../test/arbitrary';
import { ByteReader } from './bytes';
import { encodeInstructions, instruction, skipInstruction } from './instructions';
import { decodeModule } from './module';
import {
  type InstructionVisitor,
  instructionEnd,
  lebEnd,
  opcodeSet,
  readLeb,
  subOpcode,
  walkBody,
  walkEnd,
} from './walk';

/** Instruction boundaries found by walking. */
function walked(code: Uint8Array): number[] {
  const ends: number[] = [];
  let p = 0;
  while (p < code.length) {
    p = instructionEnd(code, p);
    ends.push(p);
  }
  walkEnd(p, code.length);
  return ends;
}

/** Instruction boundaries found by the codec's reader. */
function skipped(code: Uint8Array): number[] {
  const reader = new ByteReader(code);
  const ends: number[] = [];
  while (!reader.done) {
    skipInstruction(reader);
    ends.push(reader.offset);
  }
  return ends;
}

describe('instructionEnd', () => {
  it('finds the boundaries the codec finds, for any instruction (property)', () => {
    fc.assert(
      fc.property(fc.array(anyInstruction, { maxLength: 30 }), (list) => {
        const code = encodeInstructions(list);
        expect(walked(code)).toEqual(skipped(code));
        expect(walked(code)).toHaveLength(list.length);
      }),
      { numRuns: 1000 },
    );
  });

  it.each(FIXTURE_NAMES)('walks every body of %s as the codec does', (name) => {
    for (const body of decodeModule(fixture(name)).code)
      expect(walked(body.code)).toEqual(skipped(body.code));
  });

  it('names an unknown opcode, prefixed ones with their sub-opcode', () => {
    expect(() => instructionEnd(Uint8Array.of(0xff), 0)).toThrow(/unknown opcode 0xff \(at byte 0\)/);
    expect(() => instructionEnd(Uint8Array.of(0x01, 0xfc, 0x7f), 1)).toThrow(
      /unknown opcode 0xfc 127 \(at byte 1\)/,
    );
    expect(() => instructionEnd(Uint8Array.of(0xfd, 0xff, 0xff, 0x03), 0)).toThrow(
      /unknown opcode 0xfd 65535/,
    );
  });

  it('ends a walk over a cut-short body past its end, which walkEnd reports', () => {
    for (const instr of [
      instruction('v128.const', new Uint8Array(16)),
      instruction('i64.const', -(2n ** 60n)),
      instruction('br_table', { targets: [1, 300, 70000], defaultTarget: 2 }),
      instruction('f64.const', 0n),
      instruction('i32.load', { align: 2, offset: 1 << 20, memory: 3 }),
      instruction('v128.load8_lane', { memarg: { align: 0, offset: 9, memory: 0 }, lane: 3 }),
      instruction('select_t', [0x7f, 0x7e]),
    ]) {
      const code = encodeInstructions([instruction('nop'), instr]);
      for (let cut = 2; cut < code.length; cut++) {
        expect(() => walked(code.subarray(0, cut)), `${instr.op.name} cut at ${cut}`).toThrow(
          /runs past the end of the body/,
        );
      }
    }
    expect(() => {
      walkEnd(5, 4);
    }).toThrow(/at byte 4/);
  });

  it('reads and skips LEB128 numbers', () => {
    const code = Uint8Array.of(0xe5, 0x8e, 0x26, 0x00, 0xfd, 0x0c);
    expect(readLeb(code, 0)).toBe(624485);
    expect(lebEnd(code, 0)).toBe(3);
    expect(lebEnd(code, 3)).toBe(4);
    expect(subOpcode(code, 4)).toBe(12);
    expect(readLeb(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), 0)).toBe(0xffffffff);
  });
});

describe('walkBody', () => {
  /** A visitor recording the first byte of each instruction it is shown. */
  const recorder = (opcodes?: Uint8Array) => {
    const seen: number[] = [];
    const visitor: InstructionVisitor = {
      opcodes,
      visit: (code, start) => void seen.push(code[start] as number),
    };
    return { seen, visitor };
  };

  it('shows each visitor the instructions it asked for, and every one to a visitor that did not say', () => {
    // local.get 0; i32.const 1; i32.add; drop; block; call 0; end; end
    const code = encodeInstructions([
      instruction('local.get', 0),
      instruction('i32.const', 1),
      instruction('i32.add'),
      instruction('drop'),
      instruction('block', -64),
      instruction('call', 0),
      instruction('end'),
      instruction('end'),
    ]);
    const all = recorder();
    const calls = recorder(opcodeSet([0x10]));
    const structure = recorder(opcodeSet([0x02, 0x0b]));
    walkBody(code, [calls.visitor, all.visitor, structure.visitor]);
    expect(all.seen).toEqual([0x20, 0x41, 0x6a, 0x1a, 0x02, 0x10, 0x0b, 0x0b]);
    expect(calls.seen).toEqual([0x10]);
    expect(structure.seen).toEqual([0x02, 0x0b, 0x0b]);
    // The same kinds of visitor again (their union is reused), and another mix.
    const again = recorder(opcodeSet([0x10]));
    walkBody(code, [again.visitor, recorder(opcodeSet([0x02, 0x0b])).visitor]);
    expect(again.seen).toEqual([0x10]);
    const alone = recorder(opcodeSet([0x6a]));
    walkBody(code, [alone.visitor]);
    expect(alone.seen).toEqual([0x6a]);
  });
});
