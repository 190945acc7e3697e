import { describe, expect, it } from 'vitest';
import { type BodyRider, applyRiders, decodeModule, encodeModule, localCount } from '@ri-sandbox/core';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { limitCallDepth } from './depth';
import { deterministicRiders, makeDeterministic } from './deterministic';
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

  it.each(modules)(
    'gives %s the same bytes as riders on another pass, which reuses their list and them body after body',
    (_, bytes) => {
      const module = decodeModule(bytes);
      const counted = (index: number) => index !== module.functions.length - 1;
      const depthGlobal =
        module.imports.filter((i) => i.descriptor.kind === 'global').length + module.globals.length;
      const { riders, finish } = deterministicRiders(module, { maxCallDepth: 77, counted, depthGlobal });
      const seen = new Set<BodyRider>();
      // What a pass that takes the list as its own to add to does (the sandbox adds its scans).
      const idle: BodyRider = { scan: { visit: () => undefined }, finish: () => ({}) };
      const code = module.code.map((body, i) => {
        const list = riders(i);
        for (const rider of list) seen.add(rider);
        list.push(idle);
        return applyRiders(body, localCount(module, i), list);
      });
      expect(encodeModule(finish(Object.assign({}, module, { code })))).toEqual(
        encodeModule(makeDeterministic(module, { maxCallDepth: 77, counted })),
      );
      // One depth rider (every function counted has the same plan) and one NaN rider, for every body.
      expect(seen.size).toBeLessThanOrEqual(2);
    },
  );

  it('defaults to the default depth, every call counted and NaNs canonicalized', () => {
    const module = decodeModule(fixture('nan'));
    expect(encodeModule(makeDeterministic(module))).toEqual(
      encodeModule(canonicalizeNaNs(limitCallDepth(module))),
    );
  });
});
