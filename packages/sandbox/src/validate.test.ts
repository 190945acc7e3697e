import { describe, expect, it } from 'vitest';
import { defineHostFunction } from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { generous, hostFunctions } from '../test/helpers';
import { validateDeterminism } from './index';

describe('validateDeterminism', () => {
  it('reports a match for deterministic guests, PRNG and time users included', async () => {
    const report = await validateDeterminism(
      fixture('sort'),
      generous({ maxGas: 1e9 }),
      'sort',
      { values: [5, 2, 9] },
      3,
    );
    expect(report).toMatchObject({
      ok: true,
      value: { deterministic: true, run: { ok: true, outcome: '[2,5,9]' } },
    });
    const builtins = wat(`(module
      (import "env" "__get_random" (func $r (result i32)))
      (import "env" "__get_time" (func $t (result f64)))
      (memory (export "memory") 1)
      (func (export "go") (result i32) (i32.store (i32.const 0) (call $r)) (i32.add (call $r) (i32.trunc_f64_s (call $t)))))`);
    const seeded = await validateDeterminism(
      builtins,
      generous({ deterministicSeed: 9, eventTimestamp: 5 }),
      'go',
    );
    expect(seeded.ok && seeded.value.deterministic).toBe(true);
  });

  it('reports a failure as deterministic too, when it is', async () => {
    const report = await validateDeterminism(fixture('infinite-loop'), generous({ maxGas: 10_000 }), 'run');
    if (report.ok && !report.value.deterministic) throw new Error(report.value.differences.join('; '));
    expect(report).toMatchObject({
      ok: true,
      value: { deterministic: true, run: { ok: false, gasUsed: 10_000 } },
    });
    expect(report.ok && report.value.deterministic && report.value.run.outcome).toMatch(/^GAS_EXHAUSTED/);
  });

  it('reports what differs when a host function brings in non-determinism', async () => {
    let calls = 0;
    const host_add = defineHostFunction({
      name: 'host_add',
      params: ['i32', 'i32'],
      results: ['i32'],
      handler: () => ++calls,
    });
    const report = await validateDeterminism(
      fixture('host-caller'),
      generous({ hostFunctions: hostFunctions({ host_add }) }),
      'call_add',
      [1, 2],
    );
    expect(report).toMatchObject({
      ok: true,
      value: { deterministic: false, differences: ['run 2 gave 2, run 1 gave 1'] },
    });
  });

  it('sees a difference that only memory or a hidden global keeps', async () => {
    let calls = 0;
    const noise = defineHostFunction({ name: 'noise', params: [], results: ['i32'], handler: () => ++calls });
    const keeper = wat(`(module
      (import "env" "noise" (func $noise (result i32)))
      (memory (export "memory") 1)
      (global $hidden (mut i32) (i32.const 0))
      (func (export "in_memory") (i32.store (i32.const 8) (call $noise)))
      (func (export "in_global") (global.set $hidden (call $noise))))`);
    const config = generous({ hostFunctions: { noise } });
    expect(await validateDeterminism(keeper, config, 'in_memory')).toMatchObject({
      value: { deterministic: false, differences: ['run 2 left different memory than run 1'] },
    });
    expect(await validateDeterminism(keeper, config, 'in_global')).toMatchObject({
      value: {
        deterministic: false,
        differences: ['run 2 left different globals or sandbox state than run 1'],
      },
    });
  });

  it('passes on load and config errors', async () => {
    expect(await validateDeterminism(new Uint8Array([1]), {}, 'f')).toMatchObject({
      ok: false,
      error: { code: 'INVALID_MODULE' },
    });
    expect(await validateDeterminism(fixture('add'), { maxGas: -1 }, 'add')).toMatchObject({
      ok: false,
      error: { code: 'INVALID_CONFIG' },
    });
  });
});
