import { describe, expect, it } from 'vitest';
import type { WasmValueType } from '@ri-sandbox/core';
import { canonicalArgs } from './canonical';
import type { Action } from './instance';
import { fillDirectArguments, readPayload } from './payload';

function action(
  params: readonly WasmValueType[] | undefined,
  results: readonly WasmValueType[] = ['i32'],
): Action {
  return {
    name: 'f',
    fn: () => 0,
    signature: '(...)',
    params,
    results,
    args: new Array<unknown>(params?.length ?? 0),
  };
}

describe('fillDirectArguments', () => {
  it('takes numbers and bigints, one per parameter, converted as the general path converts them', () => {
    const f = action(['i32', 'i64', 'f32', 'f64', 'i64']);
    expect(fillDirectArguments(f, [-1, 5, 1.5, Number.NaN, 7n])).toBe(true);
    expect(f.args).toEqual([-1, 5n, 1.5, Number.NaN, 7n]);
    // What it fills is what the general path passes for the same payload.
    expect(readPayload([-1, 5, 1.5, Number.NaN, 7n])).toEqual({
      ok: true,
      value: { kind: 'direct', args: [-1, 5, 1.5, Number.NaN, 7n] },
    });
  });

  it('takes nothing for no parameters, and a lone number for one', () => {
    expect(fillDirectArguments(action([]), undefined)).toBe(true);
    expect(fillDirectArguments(action([]), null)).toBe(true);
    expect(fillDirectArguments(action([]), [])).toBe(true);
    const one = action(['i64']);
    expect(fillDirectArguments(one, 9)).toBe(true);
    expect(one.args).toEqual([9n]);
    expect(fillDirectArguments(action(['i32', 'i32']), 9)).toBe(false);
    expect(fillDirectArguments(action(['i32']), undefined)).toBe(false);
  });

  it('leaves every other payload to the general path, which explains what is wrong', () => {
    const two = action(['i32', 'i32']);
    for (const payload of [
      [1],
      [1, 2, 3],
      [1, 'two'],
      [1, 2.5],
      [1, 2 ** 32],
      [1, 2n],
      // A hole reads as undefined.
      // eslint-disable-next-line no-sparse-arrays
      [1, , 2].slice(1, 3),
      { 0: 1, 1: 2, length: 2 },
      canonicalArgs(1, 2),
      'text',
    ])
      expect(fillDirectArguments(two, payload)).toBe(false);
  });

  it('leaves actions whose values cannot cross as numbers to the general path', () => {
    expect(fillDirectArguments(action(undefined), [])).toBe(false);
    expect(fillDirectArguments(Object.assign(action([]), { results: undefined }), [])).toBe(false);
  });

  it('returns false for a payload that throws when read, and reads each element once', () => {
    const throwing = new Proxy([1, 2], {
      get(target, key, receiver) {
        if (key === '1') throw new Error('not now');
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    expect(fillDirectArguments(action(['i32', 'i32']), throwing)).toBe(false);
    const reads: PropertyKey[] = [];
    const counted = new Proxy([3, 4], {
      get(target, key, receiver) {
        reads.push(key);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const f = action(['i32', 'i32']);
    expect(fillDirectArguments(f, counted)).toBe(true);
    expect(f.args).toEqual([3, 4]);
    expect(reads.filter((key) => key === '0' || key === '1')).toEqual(['0', '1']);
  });
});
