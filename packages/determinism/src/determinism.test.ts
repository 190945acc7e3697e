import { describe, expect, it } from 'vitest';
import { decodeModule } from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { Pcg32, findNondeterminism } from './index';

describe('Pcg32', () => {
  it('matches the reference pcg32-demo (initstate 42, initseq 54)', () => {
    const rng = new Pcg32(42, 54);
    expect(Array.from({ length: 6 }, () => rng.next())).toEqual([
      0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e,
    ]);
    // pcg32-demo's fifth round starts after 614 more outputs.
    for (let i = 0; i < 614; i++) rng.next();
    expect(Array.from({ length: 6 }, () => rng.next())).toEqual([
      0xfcef7cd6, 0x1b488b5a, 0xd0daf7ea, 0x1d9a70f7, 0x241a37cf, 0x9a3857b7,
    ]);
  });

  it('is the same for the same seed, different for another, and resumes from a saved state', () => {
    const a = new Pcg32(7);
    const b = new Pcg32(7n);
    const c = new Pcg32(8);
    const first = Array.from({ length: 10 }, () => a.next());
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(first);
    expect(Array.from({ length: 10 }, () => c.next())).not.toEqual(first);
    const saved = a.save();
    const after = Array.from({ length: 5 }, () => a.next());
    const resumed = new Pcg32(0);
    resumed.restore(saved);
    expect(Array.from({ length: 5 }, () => resumed.next())).toEqual(after);
  });
});

describe('findNondeterminism', () => {
  it('accepts ordinary and real compiler output', () => {
    expect(findNondeterminism(decodeModule(fixture('sort')))).toEqual([]);
    expect(findNondeterminism(decodeModule(fixture('fibonacci')))).toEqual([]);
  });

  it('names shared memories, atomics and relaxed SIMD', () => {
    const threads = decodeModule(
      wat('(module (memory 1 1 shared) (func (drop (i32.atomic.load (i32.const 0)))))', { validate: false }),
    );
    expect(findNondeterminism(threads).map((n) => n.feature)).toEqual(['shared-memory', 'threads']);
    const relaxed = decodeModule(
      wat(
        '(module (func (result v128) (f32x4.relaxed_madd (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0))))',
        {
          validate: false,
        },
      ),
    );
    expect(findNondeterminism(relaxed)).toEqual([
      {
        feature: 'relaxed-simd',
        reason: 'relaxed SIMD instructions may give different results on different engines',
      },
    ]);
  });
});
