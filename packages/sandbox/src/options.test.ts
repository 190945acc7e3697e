import { describe, expect, it } from 'vitest';
import { SandboxOptionsError } from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { GENEROUS_MS } from '../test/helpers';
import { createWasmSandbox } from './index';
import { guardedClock, resolveOptions } from './options';

/** The typed error `createWasmSandbox(options)` throws. */
function refusal(options: unknown) {
  try {
    createWasmSandbox(options as never);
  } catch (thrown) {
    expect(thrown).toBeInstanceOf(SandboxOptionsError);
    expect((thrown as Error).message).toBe((thrown as SandboxOptionsError).error.message);
    return (thrown as SandboxOptionsError).error;
  }
  throw new Error('the options were accepted');
}

describe('sandbox options', () => {
  it.each([
    [{ now: 'x' }, 'now', 'must be a function, got "x"'],
    [{ now: () => 'soon' }, 'now', 'must return a finite number of milliseconds, returned "soon"'],
    [{ now: () => Number.NaN }, 'now', 'must return a finite number of milliseconds, returned NaN'],
    [
      {
        now: () => {
          throw new Error('no clock here');
        },
      },
      'now',
      'threw when read: no clock here',
    ],
    [{ wallClock: () => 'x' }, 'wallClock', 'must return a finite number of milliseconds, returned "x"'],
    [{ wallClock: () => 2 ** 60 }, 'wallClock', expect.stringMatching(/returned 1152921504606847000/)],
    [{ wallClock: 5 }, 'wallClock', 'must be a function, got 5'],
    [
      { memoryGrowFailure: 'explode' },
      'memoryGrowFailure',
      `must be 'trap' or 'return-minus-one', got "explode"`,
    ],
    [{ canonicalizeNaNs: 'yes' }, 'canonicalizeNaNs', 'must be a boolean, got "yes"'],
    [{ costs: { call: -1 } }, 'costs.call', expect.stringMatching(/^is not a cost \(known: defaultCost, /)],
    [{ costs: { defaultCost: -1 } }, 'costs.defaultCost', 'must be a non-negative integer, got -1'],
    [{ costs: 'cheap' }, 'costs', 'must be an object, got "cheap"'],
    [
      { preparedModules: { get: 1, set: 2 } },
      'preparedModules',
      'must be an object with get and set methods, got object',
    ],
    [{ preparedModules: { get: () => undefined } }, 'preparedModules', expect.stringMatching(/get and set/)],
    [{ preparedModules: 'dir' }, 'preparedModules', 'must be an object with get and set methods, got "dir"'],
    [{ reuseMemories: 'no' }, 'reuseMemories', 'must be a boolean, got "no"'],
    [{ nwo: () => 0 }, 'nwo', expect.stringMatching(/^is not a sandbox option \(options: now, wallClock/)],
    [null, 'options', 'must be an object, got null'],
    [[], 'options', 'must be an object, got an array'],
  ])('refuses %o at once, naming the option', (options, field, reason) => {
    expect(refusal(options)).toMatchObject({ code: 'INVALID_CONFIG', field, reason });
  });

  it('refuses options that throw when read (a getter, a proxy), as options it cannot use', () => {
    const unreadable = Object.defineProperty({}, 'costs', {
      enumerable: true,
      get: (): never => {
        throw new Error('not now');
      },
    });
    expect(refusal(unreadable)).toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'options',
      reason: 'reading them threw: not now',
    });
  });

  it('accepts every option with a good value, and none at all', () => {
    expect(() => createWasmSandbox()).not.toThrow();
    expect(() =>
      createWasmSandbox({
        now: () => 1,
        wallClock: () => 2,
        costs: { defaultCost: 2, instructions: { 'i32.add': 3 } },
        memoryGrowFailure: 'return-minus-one',
        canonicalizeNaNs: false,
        preparedModules: new Map<string, Uint8Array>(),
        reuseMemories: false,
      }),
    ).not.toThrow();
    expect(resolveOptions({ canonicalizeNaNs: undefined })).toMatchObject({
      ok: true,
      value: { canonicalizeNaNs: true, memoryGrowFailure: 'trap', reuseMemories: true },
    });
  });

  it('never lets a clock that goes bad later make a method throw', async () => {
    // Good when the factory checks it, then throwing and returning text in turn.
    const flaky = () => {
      let reads = 0;
      return () => {
        reads++;
        if (reads > 1 && reads % 2 === 0) throw new Error('clock gone');
        return reads > 1 ? ('later' as unknown as number) : 1000;
      };
    };
    const sandbox = createWasmSandbox({ now: flaky(), wallClock: flaky() });
    const created = sandbox.create({ maxExecutionMs: GENEROUS_MS });
    if (!created.ok) throw new Error(created.error.message);
    expect(created.value.config.eventTimestamp).toBe(1000);
    expect((await sandbox.load(created.value, fixture('add'))).ok).toBe(true);
    expect(sandbox.execute(created.value, 'add', [2, 3])).toMatchObject({
      ok: true,
      value: 5,
      durationMs: 0,
    });
  });
});

describe('guardedClock', () => {
  it('reads through, and holds the last good reading when the clock throws or returns something else', () => {
    const readings: unknown[] = [5, 7, 'x', Number.POSITIVE_INFINITY, new Error('gone'), 9];
    const clock = guardedClock(() => {
      const next = readings.shift();
      if (next instanceof Error) throw next;
      return next as number;
    });
    expect([clock(), clock(), clock(), clock(), clock(), clock()]).toEqual([5, 7, 7, 7, 7, 9]);
    expect(guardedClock(() => Number.NaN)()).toBe(0);
  });
});
