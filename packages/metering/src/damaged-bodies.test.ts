import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type WasmModule, decodeModule, encodeModule } from '@ri-sandbox/core';
import { type FixtureName, fixture } from '@ri-sandbox/test-fixtures';
import { meterModule } from './instrument';

/**
 * Opcodes that open, divide or close blocks, branch or call, or take a number: what a scan that trusts
 * structure or immediates trips on.
 */
const STRUCTURAL = [0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x41, 0x42];

/** Damage to one function body of a fixture, described (a counterexample prints as this, not as the module). */
interface Damage {
  readonly fixture: FixtureName;
  readonly body: number;
  readonly kind: 'set' | 'insert' | 'remove' | 'cut';
  /** Where in the body's code, as a fraction of its length. */
  readonly where: number;
  readonly value: number;
}

const damage: fc.Arbitrary<Damage> = fc.record({
  fixture: fc.constantFrom<FixtureName>('sort', 'sha256', 'matmul'),
  body: fc.nat(),
  kind: fc.constantFrom('set', 'insert', 'remove', 'cut'),
  where: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...STRUCTURAL)),
});

/** The fixture, decoded afresh, with `d` done to one of its function bodies. */
function damagedModule(d: Damage): WasmModule {
  const module = decodeModule(fixture(d.fixture));
  const index = d.body % module.code.length;
  const { locals, code } = module.code[index] as (typeof module.code)[number];
  const at = Math.floor(d.where * code.length);
  let damaged: Uint8Array;
  if (d.kind === 'set') {
    damaged = code.slice();
    damaged[at] = d.value;
  } else if (d.kind === 'insert') {
    damaged = new Uint8Array(code.length + 1);
    damaged.set(code.subarray(0, at));
    damaged[at] = d.value;
    damaged.set(code.subarray(at), at + 1);
  } else if (d.kind === 'remove') {
    damaged = new Uint8Array(code.length - 1);
    damaged.set(code.subarray(0, at));
    damaged.set(code.subarray(at + 1), at);
  } else damaged = code.slice(0, at);
  return { ...module, code: module.code.map((body, i) => (i === index ? { locals, code: damaged } : body)) };
}

describe('metering damaged function bodies', () => {
  it('answers a Result whatever the body, INVALID_MODULE when it fails, and meters the next module as before', () => {
    // The metering of an undamaged module, to compare with after each damaged one: the kernel and the
    // lists a failed walk left behind must not change what the next metering writes.
    const reference = (): Uint8Array => {
      const metered = meterModule(decodeModule(fixture('sha256')));
      if (!metered.ok) throw new Error(metered.error.message);
      return encodeModule(metered.value);
    };
    const expected = reference();
    let refused = 0;
    fc.assert(
      fc.property(damage, (d) => {
        // A thrown exception fails the property as it is.
        const metered = meterModule(damagedModule(d));
        if (!metered.ok) {
          refused++;
          expect(metered.error.code).toBe('INVALID_MODULE');
        }
        // Compared as a Buffer: a deep equality of 30 KB takes tens of milliseconds.
        expect(Buffer.compare(reference(), expected)).toBe(0);
      }),
      { numRuns: 1000 },
    );
    // The damage was of the kind a walk refuses, often enough to have tested that path.
    expect(refused).toBeGreaterThan(0);
  });
});
