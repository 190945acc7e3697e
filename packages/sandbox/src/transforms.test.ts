import { describe, expect, it } from 'vitest';
import { decodeModule, encodeModule, importedFunctionCount } from '@ri-sandbox/core';
import { canonicalizeNaNs, limitCallDepth } from '@ri-sandbox/determinism';
import { DEFAULT_COST_MODEL, meterModule, meteringGlobals } from '@ri-sandbox/metering';
import { exposeState } from '@ri-sandbox/snapshot';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { type TransformOptions, instrumentForSandbox } from './transforms';

/** A module with `try`, which metering walks twice (the second time without paying ahead), riders included. */
const CATCHING = wat(`(module
  (tag $e)
  (func $deep (param i32) (result f64)
    (if (i32.eqz (local.get 0)) (then (throw $e)))
    (f64.mul (f64.convert_i32_s (local.get 0)) (call $deep (i32.sub (local.get 0) (i32.const 1)))))
  (func (export "caught") (param i32) (result f64)
    (try (result f64)
      (do (f64.div (call $deep (local.get 0)) (f64.const 0)))
      (catch $e (f64.const 1))
      (catch_all (f64.const 2)))))`);

/** A module whose bodies change a table and drop segments: what the exposure of state must find. */
const DROPPING = wat(`(module
  (memory 1)
  (table $t 4 funcref)
  (data $d "abc")
  (elem $e func $f)
  (func $f (result i32) (i32.const 7))
  (func (export "init") (memory.init $d (i32.const 0) (i32.const 0) (i32.const 3)) (data.drop $d))
  (func (export "tables")
    (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1))
    (elem.drop $e)
    (table.set $t (i32.const 1) (ref.func $f))))`);

const modules = [
  ...FIXTURE_NAMES.map((name) => [name, fixture(name)] as const),
  ...fuzzModules().map(({ name, bytes }) => [name, bytes] as const),
  ['a module with try', CATCHING] as const,
  ['a module that drops segments', DROPPING] as const,
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
  // Metering's counters are not state.
  const idle = new Set(meteringGlobals(module));
  const exposed = exposeState(
    options.canonicalizeNaNs ? canonicalizeNaNs(limited) : limited,
    undefined,
    idle,
  );
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

  it("leaves a decoded module's data segments undecoded, in the fused transforms and apart", () => {
    // Tens of thousands of segments in a large module: a transform that copies the module by a
    // spread decodes them all, which no load needs.
    const bytes = wat(`(module
      (memory 1)
      (data "passive")
      (data (i32.const 16) "active")
      (func (export "f") (result f64) (f64.div (f64.const 0) (f64.const 0))))`);
    const undecoded = (module: object) => Object.getOwnPropertyDescriptor(module, 'data')?.get !== undefined;
    const options: TransformOptions = {
      costs: DEFAULT_COST_MODEL,
      memoryLimitPages: 300,
      memoryGrowFailure: 'trap',
      maxCallDepth: 123,
      canonicalizeNaNs: true,
    };
    const module = decodeModule(bytes);
    expect(undecoded(module)).toBe(true);
    const fused = instrumentForSandbox(module, options);
    if (!fused.ok) throw new Error(fused.error.message);
    expect(undecoded(fused.value.module)).toBe(true);
    const metered = meterModule(module, options);
    if (!metered.ok) throw new Error(metered.error.message);
    const limited = limitCallDepth(metered.value, 10);
    const canonical = canonicalizeNaNs(limited);
    const exposed = exposeState(canonical);
    if (!exposed.ok) throw new Error(exposed.error.message);
    for (const stage of [metered.value, limited, canonical, exposed.value.module])
      expect(undecoded(stage)).toBe(true);
    expect(undecoded({ ...module })).toBe(false);
  });
});
