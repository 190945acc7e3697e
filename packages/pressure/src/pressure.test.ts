import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PressureInputError, adviseOnPressure, getMemoryPressure } from './index';

const one = (memoryUsedBytes: number, id = 'a') => [{ id, memoryUsedBytes }];

describe('getMemoryPressure', () => {
  it.each([
    [0, 'NORMAL'],
    [69, 'NORMAL'],
    [70, 'WARNING'],
    [84, 'WARNING'],
    [85, 'PRESSURE'],
    [94, 'PRESSURE'],
    [95, 'CRITICAL'],
    [99, 'CRITICAL'],
    [100, 'OOM'],
    [250, 'OOM'],
  ])('%i of 100 bytes is %s', (used, level) => {
    expect(getMemoryPressure(one(used), 100)).toBe(level);
  });

  it('is exact where floating point is not', () => {
    // 70% of 7 bytes is 4.9: 5 bytes is WARNING, 4 is NORMAL.
    expect(getMemoryPressure(one(5), 7)).toBe('WARNING');
    expect(getMemoryPressure(one(4), 7)).toBe('NORMAL');
    // Near 2^53, a float division would round 70% - 1 byte up to 70%.
    const available = Number.MAX_SAFE_INTEGER - 9;
    const seventy = (BigInt(available) * 70n + 99n) / 100n;
    expect(getMemoryPressure(one(Number(seventy)), available)).toBe('WARNING');
    expect(getMemoryPressure(one(Number(seventy) - 1), available)).toBe('NORMAL');
    // Totals beyond 2^53 still add up exactly.
    const big = [
      { id: 'x', memoryUsedBytes: Number.MAX_SAFE_INTEGER },
      { id: 'y', memoryUsedBytes: Number.MAX_SAFE_INTEGER },
    ];
    expect(getMemoryPressure(big, Number.MAX_SAFE_INTEGER)).toBe('OOM');
  });

  it('agrees with exact rational arithmetic (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(1e12), { maxLength: 8 }),
        fc.integer({ min: 1, max: 1e13 }),
        (uses, available) => {
          const used = uses.reduce((a, b) => a + BigInt(b), 0n);
          const ratio = (p: number) => used * 100n >= BigInt(available) * BigInt(p);
          const expected = ratio(100)
            ? 'OOM'
            : ratio(95)
              ? 'CRITICAL'
              : ratio(85)
                ? 'PRESSURE'
                : ratio(70)
                  ? 'WARNING'
                  : 'NORMAL';
          expect(
            getMemoryPressure(
              uses.map((u, i) => ({ id: String(i), memoryUsedBytes: u })),
              available,
            ),
          ).toBe(expected);
        },
      ),
    );
  });

  it('sums every instance, sandbox instances included', () => {
    const instance = { id: 'sandbox-0', status: 'loaded', metrics: { memoryUsedBytes: 40 } };
    expect(getMemoryPressure([instance, { id: 'b', memoryUsedBytes: 30 }], 100)).toBe('WARNING');
    expect(getMemoryPressure([], 100)).toBe('NORMAL');
  });

  it.each([
    [one(10), 0, 'availableBytes', /must be positive/],
    [one(10), -5, 'availableBytes', /non-negative integer/],
    [one(10), Number.NaN, 'availableBytes', /non-negative integer/],
    [one(10), 1.5, 'availableBytes', /non-negative integer/],
    [one(-1), 100, 'instances[0].memoryUsedBytes', /non-negative integer/],
    [one(Number.NaN), 100, 'instances[0].memoryUsedBytes', /got NaN/],
    [
      [
        { id: 'a', memoryUsedBytes: 1 },
        { id: 'a', memoryUsedBytes: 2 },
      ],
      100,
      'instances[1]',
      /duplicate id "a"/,
    ],
    [[{ memoryUsedBytes: 1 }], 100, 'instances[0]', /string id/],
    [[{ id: 'a', memoryUsedBytes: 1, lastActiveAt: Number.NaN }], 100, 'instances[0].lastActiveAt', /finite/],
    ['nope', 100, 'instances', /array/],
    [[{ id: 'a', metrics: null }], 100, 'instances[0].metrics', /must be an object/],
    [[{ id: 'a', memoryUsedBytes: 1, lastActiveAt: 'soon' }], 100, 'instances[0].lastActiveAt', /got soon/],
    [
      [
        Object.defineProperty({ memoryUsedBytes: 1 }, 'id', {
          enumerable: true,
          get: (): never => {
            throw new Error('not now');
          },
        }),
      ],
      100,
      'instances[0]',
      /reading it threw: not now/,
    ],
    [
      new Proxy([], {
        get: (): never => {
          throw new Error('not now');
        },
      }),
      100,
      'instances',
      /reading it threw/,
    ],
  ])('rejects bad input %#', (instances, available, field, reason) => {
    let thrown: unknown;
    try {
      getMemoryPressure(instances as never, available);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PressureInputError);
    expect(thrown).toMatchObject({ field });
    expect((thrown as Error).message).toMatch(reason);
  });
});

describe('adviseOnPressure', () => {
  const records = [
    { id: 'old', memoryUsedBytes: 20, lastActiveAt: 1 },
    { id: 'newest', memoryUsedBytes: 20, lastActiveAt: 9 },
    { id: 'front', memoryUsedBytes: 30, lastActiveAt: 0, foreground: true },
    { id: 'middle', memoryUsedBytes: 20, lastActiveAt: 5 },
  ];

  it('advises nothing under 70% and logging from 70%', () => {
    expect(adviseOnPressure(records, 1000)).toEqual({ level: 'NORMAL', action: 'none' });
    const warning = adviseOnPressure(records, 120);
    expect(warning).toMatchObject({ level: 'WARNING', action: 'log' });
    expect(warning.level === 'WARNING' && warning.message).toBe(
      'sandbox memory at 75.00% of 120 available bytes (warning from 70%)',
    );
  });

  it('suspends the least recently active first, never the foreground, until under 85%', () => {
    // 90 of 100 bytes: PRESSURE. Suspending "old" (20) leaves 70 bytes = 70%: enough.
    expect(adviseOnPressure(records, 100)).toEqual({
      level: 'PRESSURE',
      action: 'suspend',
      instanceIds: ['old'],
      sufficient: true,
    });
    // 90 of 96: suspending "old" leaves 70 (72.9%): enough; of 93: 70/93 = 75%: enough.
    const tight = [...records, { id: 'extra', memoryUsedBytes: 0, lastActiveAt: 0 }];
    expect(adviseOnPressure(tight, 100)).toMatchObject({ instanceIds: ['old'] });
  });

  it('uses list order as creation order when lastActiveAt is missing, and says when suspension is not enough', () => {
    const list = [
      // 90 bytes of 100; without "first" 85 (still 85%), without "second" too 80.
      { id: 'first', memoryUsedBytes: 5 },
      { id: 'second', memoryUsedBytes: 5 },
      { id: 'third', memoryUsedBytes: 0 },
      { id: 'front', memoryUsedBytes: 80, foreground: true },
    ];
    expect(adviseOnPressure(list, 100)).toEqual({
      level: 'PRESSURE',
      action: 'suspend',
      instanceIds: ['first', 'second'],
      sufficient: true,
    });
    const hopeless = [
      { id: 'small', memoryUsedBytes: 1 },
      { id: 'front', memoryUsedBytes: 88, foreground: true },
    ];
    expect(adviseOnPressure(hopeless, 100)).toEqual({
      level: 'PRESSURE',
      action: 'suspend',
      instanceIds: ['small'],
      sufficient: false,
    });
  });

  it('saves everything but the foreground when critical, and reports OOM', () => {
    expect(adviseOnPressure(records, 92)).toEqual({
      level: 'CRITICAL',
      action: 'emergency_save',
      instanceIds: ['old', 'newest', 'middle'],
    });
    const oom = adviseOnPressure(records, 90);
    expect(oom).toMatchObject({ level: 'OOM', action: 'report', usedBytes: 90 });
    expect(oom.level === 'OOM' && oom.message).toBe(
      'sandbox memory at 100.00% of 90 available bytes: out of memory',
    );
  });
});
