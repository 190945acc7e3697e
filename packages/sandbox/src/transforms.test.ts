import { describe, expect, it } from 'vitest';
import { decodeModule, encodeModule, importedFunctionCount } from '@ri-sandbox/core';
import { canonicalizeNaNs, limitCallDepth } from '@ri-sandbox/determinism';
import { DEFAULT_COST_MODEL, meterModule } from '@ri-sandbox/metering';
import { exposeState } from '@ri-sandbox/snapshot';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { type TransformOptions, instrumentForSandbox } from './transforms';

const modules = [
  ...FIXTURE_NAMES.map((name) => [name, fixture(name)] as const),
  ...fuzzModules().map(({ name, bytes }) => [name, bytes] as const),
];

/** The transforms one after the other, each walking and copying every body itself. */
function apart(bytes: Uint8Array, options: TransformOptions): Uint8Array {
  const module = decodeModule(bytes);
  const metered = meterModule(module, options);
  if (!metered.ok) throw new Error(metered.error.message);
  // Metering's refill import and helpers do not count toward the depth.
  const refill = importedFunctionCount(module);
  const helpers = refill + 1 + module.functions.length;
  const limited = limitCallDepth(metered.value, options.maxCallDepth, (i) => i !== refill && i < helpers);
  const exposed = exposeState(options.canonicalizeNaNs ? canonicalizeNaNs(limited) : limited);
  if (!exposed.ok) throw new Error(exposed.error.message);
  return encodeModule(exposed.value.module);
}

describe('instrumentForSandbox', () => {
  it.each(modules)('gives %s the bytes of the transforms run one after the other', (_, bytes) => {
    for (const canonicalize of [true, false]) {
      const options: TransformOptions = {
        costs: DEFAULT_COST_MODEL,
        memoryLimitPages: 300,
        memoryGrowFailure: 'trap',
        maxCallDepth: 123,
        canonicalizeNaNs: canonicalize,
      };
      const fused = instrumentForSandbox(decodeModule(bytes), options);
      if (!fused.ok) throw new Error(fused.error.message);
      expect(encodeModule(fused.value.module)).toEqual(apart(bytes, options));
    }
  });
});
