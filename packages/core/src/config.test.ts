import { describe, expect, expectTypeOf, it } from 'vitest';
import { DEFAULT_CONFIG, defineHostFunction, resolveConfig } from './config';
import type { HostCallContext, HostFunction } from './types';

const noop = defineHostFunction({ name: 'noop', params: [], results: [], handler: () => undefined });

describe('resolveConfig', () => {
  it('fills in the documented defaults, eventTimestamp from the clock', () => {
    const result = resolveConfig({}, () => 1_700_000_000_123.7);
    expect(result).toEqual({
      ok: true,
      value: {
        maxMemoryBytes: 16 * 1024 * 1024,
        maxGas: 1_000_000,
        maxExecutionMs: 50,
        hostFunctions: {},
        deterministicSeed: 0,
        eventTimestamp: 1_700_000_000_123,
        maxCallDepth: 1000,
      },
    });
    expect(DEFAULT_CONFIG).toEqual({
      maxMemoryBytes: 16777216,
      maxGas: 1000000,
      maxExecutionMs: 50,
      deterministicSeed: 0,
      maxCallDepth: 1000,
    });
    expect(resolveConfig().ok).toBe(true);
  });

  it('returns a deeply frozen config', () => {
    const result = resolveConfig({ hostFunctions: { noop } });
    if (!result.ok) throw new Error(result.error.message);
    expect(Object.isFrozen(result.value)).toBe(true);
    expect(Object.isFrozen(result.value.hostFunctions)).toBe(true);
    expect(Object.isFrozen(result.value.hostFunctions['noop'])).toBe(true);
    expect(Object.isFrozen(result.value.hostFunctions['noop']?.params)).toBe(true);
  });

  it('accepts zero gas and zero time (they exhaust at once) and any integral timestamp', () => {
    expect(resolveConfig({ maxGas: 0, maxExecutionMs: 0, eventTimestamp: -5 }).ok).toBe(true);
  });

  it.each([
    [{ maxMemoryBytes: 0 }, 'maxMemoryBytes', /positive/],
    [{ maxMemoryBytes: -1 }, 'maxMemoryBytes', /positive/],
    [{ maxMemoryBytes: Number.NaN }, 'maxMemoryBytes', /finite/],
    [{ maxMemoryBytes: '1MB' }, 'maxMemoryBytes', /must be a number, got string/],
    [{ maxMemoryBytes: 2 ** 33 }, 'maxMemoryBytes', /at most 4 GiB/],
    [{ maxGas: -1 }, 'maxGas', /negative/],
    [{ maxGas: 1.5 }, 'maxGas', /integer/],
    [{ maxGas: Number.NaN }, 'maxGas', /finite/],
    [{ maxGas: Infinity }, 'maxGas', /finite/],
    [{ maxGas: 10n }, 'maxGas', /number, got bigint/],
    [{ maxExecutionMs: -0.5 }, 'maxExecutionMs', /negative/],
    [{ maxExecutionMs: Number.NaN }, 'maxExecutionMs', /finite/],
    [{ deterministicSeed: -3 }, 'deterministicSeed', /negative/],
    [{ deterministicSeed: 0.5 }, 'deterministicSeed', /integer/],
    [{ eventTimestamp: 1.5 }, 'eventTimestamp', /integer/],
    [{ maxCallDepth: 0 }, 'maxCallDepth', /at least 1/],
    [{ maxCallDepth: 2.5 }, 'maxCallDepth', /integer/],
    [{ maxGass: 5 }, 'maxGass', /not a SandboxConfig field/],
    [{ hostFunctions: [] }, 'hostFunctions', /object keyed by function name/],
    [{ hostFunctions: { f: 5 } }, 'hostFunctions.f', /HostFunction object/],
    [{ hostFunctions: { f: { ...noop, name: '' } } }, 'hostFunctions.f', /non-empty string/],
    [
      { hostFunctions: { f: noop } },
      'hostFunctions.f',
      /keyed "f" but is env.noop; key it "noop" \(or "env.noop"\)/,
    ],
    [{ hostFunctions: { noop: { ...noop, module: '' } } }, 'hostFunctions.noop', /module, when given/],
    [
      { hostFunctions: { noop: { ...noop, module: 'wasi_snapshot_preview1' } } },
      'hostFunctions.noop',
      /import module "wasi_snapshot_preview1" is reserved/,
    ],
    [{ hostFunctions: { noop: { ...noop, module: '__ri_metering' } } }, 'hostFunctions.noop', /reserved/],
    [
      { hostFunctions: { noop, 'env.noop': noop } },
      'hostFunctions.env.noop',
      /is a second definition of env.noop/,
    ],
    [{ wasi: 5 }, 'wasi', /must be an object/],
    [{ wasi: { args: ['a\0b'] } }, 'wasi.args.0', /NUL/],
    [{ wasi: { files: { 'relative.txt': 'x' } } }, 'wasi.files.relative.txt', /absolute guest path/],
    [{ hostFunctions: { memory: { ...noop, name: 'memory' } } }, 'hostFunctions.memory', /reserved/],
    [
      { hostFunctions: { noop: { ...noop, handler: 1 } } },
      'hostFunctions.noop',
      /handler must be a function/,
    ],
    [{ hostFunctions: { noop: { ...noop, params: 'i32' } } }, 'hostFunctions.noop.params', /array/],
    [
      { hostFunctions: { noop: { ...noop, results: ['i128'] } } },
      'hostFunctions.noop.results',
      /"i128" is not one of/,
    ],
  ])('rejects %o naming %s', (input, field, reason) => {
    const result = resolveConfig(input);
    if (result.ok) throw new Error('expected INVALID_CONFIG');
    expect(result.error.code).toBe('INVALID_CONFIG');
    expect(result.error.field).toBe(field);
    expect(result.error.reason).toMatch(reason);
    expect(result.error.message).toContain(field);
  });

  it('answers INVALID_CONFIG, naming the field, for a config whose reading throws', () => {
    const throws = (): never => {
      throw new Error('not now');
    };
    const getter = Object.defineProperty({}, 'maxGas', { enumerable: true, get: throws });
    expect(resolveConfig(getter)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_CONFIG', field: 'maxGas', reason: 'reading it threw: not now' },
    });
    const keys = new Proxy({}, { ownKeys: throws });
    expect(resolveConfig(keys)).toMatchObject({ ok: false, error: { field: 'config' } });
    const params = Object.defineProperty({ ...noop }, 'params', { enumerable: true, get: throws });
    expect(resolveConfig({ hostFunctions: { noop: params } })).toMatchObject({
      ok: false,
      error: { field: 'hostFunctions.noop', reason: /not now/ },
    });
    const functions = new Proxy({}, { ownKeys: throws });
    expect(resolveConfig({ hostFunctions: functions })).toMatchObject({
      ok: false,
      error: { field: 'hostFunctions' },
    });
    const wasi = Object.defineProperty({}, 'args', { enumerable: true, get: throws });
    expect(resolveConfig({ wasi })).toMatchObject({
      ok: false,
      error: { field: 'wasi.args', reason: /not now/ },
    });
  });

  it('keeps the WASI settings as they were when checked: each field is read once', () => {
    let reads = 0;
    const wasi = Object.defineProperty({}, 'args', {
      enumerable: true,
      get: () => (reads++ === 0 ? ['x'] : [7]),
    });
    const resolved = resolveConfig({ wasi });
    expect(resolved.ok && resolved.value.wasi?.args).toEqual(['x']);
    expect(reads).toBe(1);
  });

  it('answers INVALID_CONFIG naming the WASI field whose reading throws', () => {
    const wasi = Object.defineProperty({}, 'env', {
      enumerable: true,
      get: (): never => {
        throw new Error('not now');
      },
    });
    expect(resolveConfig({ wasi })).toMatchObject({
      ok: false,
      error: { field: 'wasi.env', reason: 'reading it threw: not now' },
    });
  });

  it("keeps a host function's fields as they were when checked: each is read once", () => {
    let reads = 0;
    const shifty = Object.defineProperty({ ...noop }, 'params', {
      enumerable: true,
      get: () => (reads++ === 0 ? [] : ['not a type']),
    });
    const result = resolveConfig({ hostFunctions: { noop: shifty } });
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.hostFunctions['noop']?.params).toEqual([]);
    expect(reads).toBe(1);
  });

  it('rejects a config that is not an object', () => {
    expect(resolveConfig(null)).toMatchObject({ ok: false, error: { field: 'config' } });
    expect(resolveConfig(42)).toMatchObject({ ok: false, error: { field: 'config' } });
  });

  it('takes a field given as undefined as its default, and null as a value (refused)', () => {
    const clock = () => 1234.5;
    const defaults = resolveConfig(
      { eventTimestamp: undefined, hostFunctions: undefined, maxGas: undefined },
      clock,
    );
    expect(defaults).toMatchObject({
      ok: true,
      value: { eventTimestamp: 1234, hostFunctions: {}, maxGas: 1_000_000 },
    });
    for (const field of ['eventTimestamp', 'hostFunctions', 'maxGas', 'wasi'])
      expect(resolveConfig({ [field]: null }, clock)).toMatchObject({ ok: false, error: { field } });
    // Inherited fields are not the config's own: they are not read.
    expect(resolveConfig(Object.create({ maxGas: -1 }) as object)).toMatchObject({
      ok: true,
      value: { maxGas: 1_000_000 },
    });
  });
});

describe('defineHostFunction', () => {
  it('types handler arguments and results from params and results', () => {
    const fn = defineHostFunction({
      name: 'mix',
      params: ['i32', 'i64', 'f64'],
      results: ['i64', 'f32'],
      handler: (a, b, c, context): [bigint, number] => {
        expectTypeOf(a).toEqualTypeOf<number>();
        expectTypeOf(b).toEqualTypeOf<bigint>();
        expectTypeOf(c).toEqualTypeOf<number>();
        expectTypeOf(context).toEqualTypeOf<HostCallContext>();
        return [b, a + c];
      },
    });
    expectTypeOf(fn).toExtend<HostFunction>();
    // @ts-expect-error an i32 handler cannot return a bigint
    defineHostFunction({ name: 'bad', params: [], results: ['i32'], handler: () => 1n });
    expect(fn.handler(1, 2n, 3, { instanceId: 'x', memory: undefined })).toEqual([2n, 4]);
  });
});
