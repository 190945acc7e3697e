import { describe, expect, it } from 'vitest';
import { decodeModule, encodeModule } from '@ri-sandbox/core';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { limitCallDepth } from './depth';
import { makeDeterministic } from './deterministic';
import { canonicalizeNaNs } from './nan';

const modules = [
  ...FIXTURE_NAMES.map((name) => [name, fixture(name)] as const),
  ...fuzzModules().map(({ name, bytes }) => [name, bytes] as const),
];

describe('makeDeterministic', () => {
  it.each(modules)('gives %s the bytes of the depth limit then NaN canonicalization', (_, bytes) => {
    const module = decodeModule(bytes);
    // Calls to the last function do not count, as a helper's would not.
    const counted = (index: number) => index !== module.functions.length - 1;
    const apart = (nan: boolean) => {
      const limited = limitCallDepth(module, 77, counted);
      return encodeModule(nan ? canonicalizeNaNs(limited) : limited);
    };
    expect(encodeModule(makeDeterministic(module, { maxCallDepth: 77, counted }))).toEqual(apart(true));
    expect(
      encodeModule(makeDeterministic(module, { maxCallDepth: 77, counted, canonicalizeNaNs: false })),
    ).toEqual(apart(false));
  });

  it('defaults to the default depth, every call counted and NaNs canonicalized', () => {
    const module = decodeModule(fixture('nan'));
    expect(encodeModule(makeDeterministic(module))).toEqual(
      encodeModule(canonicalizeNaNs(limitCallDepth(module))),
    );
  });
});
