import { describe, expect, it } from 'vitest';
import { defineHostFunction } from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { errorOf, hostFunctions as hostCallerFunctions, loaded, testSandbox, valueOf } from '../test/helpers';

describe('gas', () => {
  it('stops an infinite loop that never calls the host with GAS_EXHAUSTED, at the exact limit', async () => {
    const { sandbox, instance } = await loaded('infinite-loop', { maxGas: 50_000, maxExecutionMs: 10_000 });
    expect(errorOf(sandbox.execute(instance, 'run'))).toMatchObject({
      code: 'GAS_EXHAUSTED',
      gasUsed: 50_000,
      gasLimit: 50_000,
    });
    expect(instance.status).toBe('loaded');
    expect(instance.metrics.gasUsed).toBe(50_000);
    expect(valueOf(sandbox.execute(instance, 'ok'))).toBe(1);
    expect(instance.metrics.gasUsed).toBe(2);
  });

  it('exhausts at once with maxGas 0', async () => {
    const { sandbox, instance } = await loaded('add', { maxGas: 0 });
    expect(errorOf(sandbox.execute(instance, 'nothing'))).toMatchObject({
      code: 'GAS_EXHAUSTED',
      gasLimit: 0,
    });
  });

  it('is deterministic: the same call costs the same on every run and every instance', async () => {
    const gas: number[] = [];
    const values: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const { sandbox, instance } = await loaded('sort', { maxGas: 1e9, maxExecutionMs: 10_000 });
      for (let j = 0; j < 2; j++) {
        const result = sandbox.execute(instance, 'sort_random', [2000, 7]);
        if (!result.ok) throw new Error(result.error.message);
        gas.push(result.gasUsed);
        values.push(result.value);
      }
    }
    // The first call of each instance also grows its heap; the second starts from a warm heap.
    // Same starting state, same gas: every instance repeats the same pair.
    expect(gas.slice(2)).toEqual([...gas.slice(0, 2), ...gas.slice(0, 2)]);
    expect(new Set(values).size).toBe(1);
    expect(gas[0]).toBeGreaterThan(100_000);
  });

  it('resets at each execute', async () => {
    const { sandbox, instance } = await loaded('fibonacci', { maxGas: 100_000 });
    const used = [1, 2, 3].map(() => {
      const result = sandbox.execute(instance, 'fib', 15);
      return result.ok ? result.gasUsed : -1;
    });
    expect(used[0]).toBeGreaterThan(1000);
    expect(new Set(used).size).toBe(1);
  });

  it('stops deep recursion and a memory.fill bomb', async () => {
    const recursion = await loaded('fibonacci', { maxGas: 10_000 });
    expect(errorOf(recursion.sandbox.execute(recursion.instance, 'fib', 40)).code).toBe('GAS_EXHAUSTED');
    const bomb = await loaded('memory-hog', { maxGas: 1_000, maxMemoryBytes: 1 << 20 });
    valueOf(bomb.sandbox.execute(bomb.instance, 'grow', 15));
    expect(errorOf(bomb.sandbox.execute(bomb.instance, 'fill', 1)).code).toBe('GAS_EXHAUSTED');
    const stack = await loaded('traps', { maxGas: 1e12, maxExecutionMs: 10_000 });
    expect(errorOf(stack.sandbox.execute(stack.instance, 'stack_overflow', 0))).toMatchObject({
      code: 'WASM_TRAP',
      trapKind: 'stack_overflow',
    });
  });

  it("follows the factory's cost model, and refuses an invalid one", async () => {
    const { sandbox, instance } = await loaded('add', {}, testSandbox({ costs: { defaultCost: 10 } }));
    expect(sandbox.execute(instance, 'add', [1, 2])).toMatchObject({ ok: true, gasUsed: 1 + 30 });
    expect(() => testSandbox({ costs: { defaultCost: -1 } })).toThrow(
      'invalid config costs.defaultCost: must be a non-negative integer, got -1',
    );
  });
});

describe('time', () => {
  it('preempts an infinite loop with TIMEOUT, promptly', async () => {
    const { sandbox, instance } = await loaded('infinite-loop', {
      maxGas: Number.MAX_SAFE_INTEGER,
      maxExecutionMs: 50,
    });
    const started = performance.now();
    const error = errorOf(sandbox.execute(instance, 'run'));
    const took = performance.now() - started;
    expect(error).toMatchObject({ code: 'TIMEOUT', limitMs: 50 });
    expect(error.code === 'TIMEOUT' && error.elapsedMs).toBeGreaterThanOrEqual(50);
    // A bound that only a missing preemption can pass (the loop runs until gas for 2^53 instructions is
    // spent), far from what a busy machine adds; the benchmark measures the overshoot precisely.
    expect(took).toBeLessThan(10_000);
    expect(instance.status).toBe('loaded');
  });

  it('times out at once with maxExecutionMs 0', async () => {
    const { sandbox, instance } = await loaded('add', { maxExecutionMs: 0 });
    expect(errorOf(sandbox.execute(instance, 'add', [1, 2]))).toMatchObject({ code: 'TIMEOUT', limitMs: 0 });
  });

  it('counts time spent in host functions', async () => {
    let clock = 0;
    const slow = defineHostFunction({
      name: 'host_add',
      params: ['i32', 'i32'],
      results: ['i32'],
      handler: (a, b) => {
        clock += 100;
        return a + b;
      },
    });
    const hostFunctions = hostCallerFunctions({ host_add: slow });
    const sandbox = testSandbox({ now: () => clock });
    const { instance } = await loaded('host-caller', { hostFunctions, maxExecutionMs: 50 }, sandbox);
    expect(errorOf(sandbox.execute(instance, 'call_twice', 1))).toMatchObject({
      code: 'TIMEOUT',
      elapsedMs: 100,
      limitMs: 50,
    });
    expect(valueOf(sandbox.execute(instance, 'ran_after_first_call'))).toBe(0);
  });

  it('bounds a start function too', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create({ maxGas: 1000 });
    if (!created.ok) throw new Error();
    const result = await sandbox.load(created.value, wat('(module (func $s (loop $l (br $l))) (start $s))'));
    expect(errorOf(result)).toMatchObject({ code: 'GAS_EXHAUSTED', gasLimit: 1000 });
    expect(created.value.status).toBe('created');
  });
});

describe('memory growth', () => {
  it('can return -1 to the guest instead, as the specification allows', async () => {
    const sandbox = testSandbox({ memoryGrowFailure: 'return-minus-one' });
    const { instance } = await loaded('memory-hog', { maxMemoryBytes: 4 * 65536 }, sandbox);
    expect(valueOf(sandbox.execute(instance, 'hog'))).toBe(4);
    expect(instance.metrics.memoryUsedBytes).toBe(4 * 65536);
  });

  it('charges growth per page', async () => {
    const { sandbox, instance } = await loaded('memory-hog', { maxMemoryBytes: 1 << 20 });
    const one = sandbox.execute(instance, 'grow', 1);
    const five = sandbox.execute(instance, 'grow', 5);
    expect(five.ok && one.ok && five.gasUsed - one.gasUsed).toBe(4 * 64);
  });
});

describe('the realistic programs', () => {
  it.each([
    ['sha256', 'sha256_pattern', 1 << 16],
    ['sort', 'sort_random', [5000, 3]],
    ['matmul', 'matmul', 40],
  ] as const)('%s runs metered to the same result as unmetered', async (name, action, payload) => {
    const { sandbox, instance } = await loaded(name, { maxGas: 1e10, maxExecutionMs: 10_000 });
    const { instance: raw } = await WebAssembly.instantiate(fixture(name));
    const args = Array.isArray(payload) ? payload : [payload];
    const expected = (raw.exports[action] as (...a: number[]) => unknown)(...args);
    const result = sandbox.execute(instance, action, payload);
    expect(valueOf(result)).toBe(expected);
    expect(result.ok && result.gasUsed).toBeGreaterThan(10_000);
  });
});
