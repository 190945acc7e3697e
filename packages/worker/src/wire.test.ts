import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromWire, toWire } from './wire';

/** What the wire carries: what the sandbox's results and calls are made of. */
const plain: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.boolean(),
    fc.double(),
    fc.bigInt(),
    fc.constant(undefined),
    fc.constant(null),
    fc.uint8Array(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.string().filter((key) => key !== '$ri' && key !== '__proto__'),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value;

describe('the wire format of the shared channel', () => {
  it('gives back exactly what structured clone would: -0, NaN, bigint, undefined, bytes', () => {
    fc.assert(
      fc.property(plain, (value) => {
        const text = toWire(value);
        expect(text).toBeTypeOf('string');
        expect(fromWire(text as string)).toStrictEqual(structuredClone(value));
      }),
    );
  });

  it('keeps the odd numbers and keys that hold undefined', () => {
    const back = fromWire(
      toWire({ a: -0, b: NaN, c: -Infinity, d: undefined, e: [undefined, 2n ** 70n] }) as string,
    );
    expect(back).toStrictEqual({ a: -0, b: NaN, c: -Infinity, d: undefined, e: [undefined, 2n ** 70n] });
    expect(Object.keys(back as object)).toContain('d');
  });

  it('refuses what it could not give back the same: class instances, errors, functions, cycles, its tag', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    for (const value of [
      new Date(0),
      new Error('x'),
      new Map(),
      new Uint16Array(2),
      Buffer.from('x'),
      () => 1,
      Symbol('s'),
      cycle,
      { $ri: 'b', v: '1' },
      [{ nested: new Set() }],
    ])
      expect(toWire(value)).toBeUndefined();
  });
});
