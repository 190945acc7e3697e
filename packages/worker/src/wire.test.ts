import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireReader, WireWriter } from './wire';

/** What the wire carries: what the sandbox's results and calls are made of. */
const plain: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.bigInt(),
    fc.constant(undefined),
    fc.constant(null),
    fc.uint8Array(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** `value` through the wire, in a buffer of `size` bytes (shared, as the channel's is). */
function roundTrip(value: unknown, size = 1 << 16): { written: number | undefined; back: unknown } {
  const bytes = new Uint8Array(new SharedArrayBuffer(size));
  const written = new WireWriter(bytes).write(value);
  return { written, back: written === undefined ? undefined : new WireReader(bytes).read() };
}

describe('the wire format of the shared channel', () => {
  it('gives back exactly what structured clone would: -0, NaN, bigint, undefined, bytes, any string', () => {
    fc.assert(
      fc.property(plain, (value) => {
        const { written, back } = roundTrip(value);
        expect(written).toBeTypeOf('number');
        expect(back).toStrictEqual(structuredClone(value));
      }),
    );
  });

  it('keeps the odd numbers, bigints past 64 bits, and keys that hold undefined', () => {
    const value = {
      a: -0,
      b: NaN,
      c: -Infinity,
      d: undefined,
      e: [undefined, 2n ** 70n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 63n],
      f: [2 ** 31, -(2 ** 31), 0.5, 2 ** 53],
    };
    const { back } = roundTrip(value);
    expect(back).toStrictEqual(value);
    expect(Object.keys(back as object)).toContain('d');
  });

  it('makes a key named __proto__ an own property, as structured clone does, not a prototype', () => {
    const value = JSON.parse('{"__proto__":{"polluted":1},"$ri":"b"}') as object;
    const { back } = roundTrip(value);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(back).toStrictEqual(structuredClone(value));
    expect(Object.keys(back as object)).toEqual(['__proto__', '$ri']);
  });

  it('reads long strings, and strings of lone surrogates, unit for unit', () => {
    const long = Array.from({ length: 20_000 }, (_, i) => String.fromCharCode(i % 0xffff)).join('');
    expect(roundTrip(long).back).toBe(long);
    expect(roundTrip('\ud800x\udc00').back).toBe('\ud800x\udc00');
  });

  it('refuses what it could not give back the same: class instances, errors, functions, cycles, a getter that throws', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    const throwing = {
      get value(): never {
        throw new Error('not readable');
      },
    };
    for (const value of [
      new Date(0),
      new Error('x'),
      new Map(),
      new Uint16Array(2),
      Buffer.from('x'),
      () => 1,
      Symbol('s'),
      cycle,
      [{ nested: new Set() }],
      [1, throwing],
    ])
      expect(roundTrip(value).written).toBeUndefined();
  });

  it('refuses what does not fit, whatever the value, and fits what just does', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    // A tag, a length and the bytes: 8 bytes.
    expect(roundTrip(bytes, 7).written).toBeUndefined();
    expect(roundTrip(bytes, 8)).toStrictEqual({ written: 8, back: bytes });
    for (const value of ['abc', 123456, 0.5, 2n ** 70n, [1, 2], { key: 'value' }])
      expect(roundTrip(value, 3).written).toBeUndefined();
  });
});
