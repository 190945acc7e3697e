/**
 * Integration tests across packages: the whole lifecycle through the public
 * API of @ri-sandbox/sandbox, with real fixtures, real limits and real host functions.
 */
import { describe, expect, it } from 'vitest';
import {
  type ExecutionResult,
  type SandboxConfigInput,
  type SandboxInstance,
  type WasmSandbox,
  createWasmSandbox,
  defineHostFunction,
} from '@ri-sandbox/sandbox';
import { type FixtureName, fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../packages/core/test/wat';
import { generous } from '../../packages/sandbox/test/helpers';

async function ready(
  sandbox: WasmSandbox,
  module: FixtureName | Uint8Array,
  config: SandboxConfigInput = {},
) {
  // Tests about time set their own limit; the rest get one no busy machine can reach.
  const created = sandbox.create(generous(config));
  if (!created.ok) throw new Error(created.error.message);
  const loaded = await sandbox.load(created.value, typeof module === 'string' ? fixture(module) : module);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return created.value;
}

function summary(result: ExecutionResult) {
  return result.ok
    ? { ok: true, value: result.value, gasUsed: result.gasUsed }
    : { ok: false, code: result.error.code };
}

/** A guest that grows memory by a page per iteration, forever: whichever limit is tightest stops it. */
const GREEDY = wat(`(module
  (memory 1)
  (func (export "run") (loop $l (drop (memory.grow (i32.const 1))) (br $l))))`);

describe('lifecycle', () => {
  it('create, load, execute, read, destroy', async () => {
    const sandbox = createWasmSandbox();
    const instance = await ready(sandbox, 'sort', { maxGas: 50_000_000, maxMemoryBytes: 4 << 20 });
    expect(instance.status).toBe('loaded');
    const result = sandbox.execute(instance, 'sort', { values: [9, -1, 4] });
    expect(summary(result)).toMatchObject({ ok: true, value: [-1, 4, 9] });
    const metrics = sandbox.getMetrics(instance);
    expect(metrics).toMatchObject({ ok: true, value: { memoryLimitBytes: 4 << 20, gasLimit: 50_000_000 } });
    expect(metrics.ok && metrics.value.gasUsed).toBe(result.ok && result.gasUsed);
    expect(sandbox.destroy(instance).ok).toBe(true);
    expect(sandbox.execute(instance, 'sort', { values: [] })).toMatchObject({
      ok: false,
      error: { code: 'INSTANCE_DESTROYED' },
    });
  });

  it('gives identical results 100 times over', async () => {
    const sandbox = createWasmSandbox();
    const instance = await ready(sandbox, 'sha256', { maxGas: 1e9 });
    // The first call also sets up malloc's heap; from then on every call starts from the same state.
    sandbox.execute(instance, 'sha256', 'the same input');
    const first = summary(sandbox.execute(instance, 'sha256', 'the same input'));
    for (let i = 0; i < 100; i++)
      expect(summary(sandbox.execute(instance, 'sha256', 'the same input'))).toEqual(first);
  });

  it('keeps many concurrent instances independent', async () => {
    const sandbox = createWasmSandbox();
    const instances: SandboxInstance[] = await Promise.all(
      Array.from({ length: 200 }, () => ready(sandbox, 'counter')),
    );
    expect(new Set(instances.map((i) => i.id)).size).toBe(200);
    for (let round = 0; round < 3; round++)
      instances.forEach((instance, i) => sandbox.execute(instance, 'add', i));
    instances.forEach((instance, i) => {
      expect(summary(sandbox.execute(instance, 'get'))).toMatchObject({ value: 3 * i });
    });
    sandbox.destroy(instances[0] as SandboxInstance);
    expect(summary(sandbox.execute(instances[1] as SandboxInstance, 'get'))).toMatchObject({ value: 3 });
  });
});

describe('snapshots', () => {
  it('snapshot, execute, restore, execute again: the same results, gas and memory', async () => {
    const sandbox = createWasmSandbox();
    const sha = await ready(sandbox, 'sha256', { maxGas: 1e9 });
    sandbox.execute(sha, 'sha256', 'warm the heap up');
    const saved = sandbox.snapshot(sha);
    if (!saved.ok) throw new Error(saved.error.message);
    const first = ['abc', 'a longer message to hash', ''].map((text) =>
      summary(sandbox.execute(sha, 'sha256', text)),
    );
    const { memoryUsedBytes, gasUsed } = sha.metrics;
    expect(sandbox.restore(sha, saved.value).ok).toBe(true);
    const again = ['abc', 'a longer message to hash', ''].map((text) =>
      summary(sandbox.execute(sha, 'sha256', text)),
    );
    expect(again).toEqual(first);
    expect(sha.metrics).toMatchObject({ memoryUsedBytes, gasUsed });
    expect(sandbox.snapshot(sha)).toEqual(sandbox.snapshot(sha));
  });

  it('suspends and resumes many instances, each where it was', async () => {
    const sandbox = createWasmSandbox();
    const counters = await Promise.all(Array.from({ length: 50 }, () => ready(sandbox, 'counter')));
    counters.forEach((counter, i) => sandbox.execute(counter, 'add', i));
    for (const counter of counters) expect(sandbox.suspend(counter).ok).toBe(true);
    expect(counters.every((c) => c.status === 'suspended' && c.metrics.memoryUsedBytes === 0)).toBe(true);
    for (const counter of counters.reverse()) expect(sandbox.resume(counter).ok).toBe(true);
    expect(counters.reverse().map((c) => summary(sandbox.execute(c, 'get')).value)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
  });
});

describe('limits', () => {
  it.each([
    ['gas', { maxGas: 10_000, maxExecutionMs: 10_000, maxMemoryBytes: 64 << 20 }, 'GAS_EXHAUSTED'],
    ['memory', { maxGas: 1e12, maxExecutionMs: 10_000, maxMemoryBytes: 1 << 20 }, 'MEMORY_EXCEEDED'],
    ['time', { maxGas: Number.MAX_SAFE_INTEGER, maxExecutionMs: 20, maxMemoryBytes: 1 << 20 }, 'TIMEOUT'],
  ] as const)('all three at once: the first to be hit (%s) wins', async (_label, config, code) => {
    const sandbox = createWasmSandbox({ memoryGrowFailure: 'trap' });
    // An infinite loop within every other limit: only the clock can stop it.
    const guest = code === 'TIMEOUT' ? fixture('infinite-loop') : GREEDY;
    const instance = await ready(sandbox, guest, config);
    const result = sandbox.execute(instance, 'run');
    expect(summary(result)).toMatchObject({ ok: false, code });
    expect(instance.status).toBe('loaded');
  });

  it('reports exact metrics after a failure', async () => {
    const sandbox = createWasmSandbox();
    const instance = await ready(sandbox, GREEDY, { maxGas: 1e12, maxMemoryBytes: 256 * 1024 });
    expect(summary(sandbox.execute(instance, 'run'))).toMatchObject({ code: 'MEMORY_EXCEEDED' });
    expect(instance.metrics.memoryUsedBytes).toBe(256 * 1024);
    expect(instance.metrics.gasUsed).toBeGreaterThan(0);
  });
});

describe('host functions', () => {
  const calls: string[] = [];
  const hostFunctions = {
    host_add: defineHostFunction({
      name: 'host_add',
      params: ['i32', 'i32'],
      results: ['i32'],
      handler: (a, b) => (calls.push('add'), a + b),
    }),
    host_log: defineHostFunction({
      name: 'host_log',
      params: ['i32', 'i32'],
      results: [],
      handler: (pointer, length, context) => {
        calls.push(new TextDecoder().decode(context.memory?.read(pointer, length)));
      },
    }),
    host_i64: defineHostFunction({
      name: 'host_i64',
      params: ['i64'],
      results: ['i64'],
      handler: (x) => (calls.push('i64'), -x),
    }),
  };

  it('pass arguments and results, several functions in one module', async () => {
    const sandbox = createWasmSandbox();
    const instance = await ready(sandbox, 'host-caller', { hostFunctions });
    calls.length = 0;
    expect(summary(sandbox.execute(instance, 'call_add', [20, 22]))).toMatchObject({ value: 42 });
    expect(summary(sandbox.execute(instance, 'call_i64', 5n))).toMatchObject({ value: -5n });
    expect(summary(sandbox.execute(instance, 'call_log'))).toMatchObject({ ok: true, value: undefined });
    expect(calls).toEqual(['add', 'i64', 'hello from wasm']);
  });

  it('that throw end the execution; that are missing fail the load', async () => {
    const sandbox = createWasmSandbox();
    const failing = {
      ...hostFunctions,
      host_add: {
        ...hostFunctions.host_add,
        handler: () => {
          throw new Error('nope');
        },
      },
    };
    const instance = await ready(sandbox, 'host-caller', { hostFunctions: failing });
    expect(sandbox.execute(instance, 'call_add', [1, 2])).toMatchObject({
      ok: false,
      error: { code: 'HOST_FUNCTION_ERROR', functionName: 'host_add' },
    });
    const created = sandbox.create({ hostFunctions: { host_add: hostFunctions.host_add } });
    if (!created.ok) throw new Error();
    const load = await sandbox.load(created.value, fixture('host-caller'));
    expect(load).toMatchObject({ ok: false, error: { code: 'INVALID_MODULE' } });
    expect(!load.ok && load.error.message).toMatch(/env.host_log .* not provided/);
  });
});

describe('determinism', () => {
  const GUEST = wat(`(module
    (import "env" "__get_time" (func $time (result f64)))
    (import "env" "__get_random" (func $random (result i32)))
    (memory (export "memory") 1)
    (func (export "mix") (result i64) (local $i i32) (local $acc i64)
      (loop $l
        (i32.store (i32.mul (local.get $i) (i32.const 4)) (call $random))
        (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.load (i32.mul (local.get $i) (i32.const 4))))))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
      (i64.add (local.get $acc) (i64.trunc_f64_s (call $time)))))`);

  async function mixOnce(config: SandboxConfigInput) {
    const sandbox = createWasmSandbox();
    const instance = await ready(sandbox, GUEST, config);
    return summary(sandbox.execute(instance, 'mix'));
  }

  it('gives the same result and gas 100 times for the same seed and timestamp', async () => {
    const first = await mixOnce({ deterministicSeed: 3, eventTimestamp: 1_000 });
    for (let i = 0; i < 100; i++)
      expect(await mixOnce({ deterministicSeed: 3, eventTimestamp: 1_000 })).toEqual(first);
  });

  it('changes with the seed and with the timestamp', async () => {
    const base = await mixOnce({ deterministicSeed: 3, eventTimestamp: 1_000 });
    const seed = await mixOnce({ deterministicSeed: 4, eventTimestamp: 1_000 });
    const time = await mixOnce({ deterministicSeed: 3, eventTimestamp: 2_000 });
    expect(seed.ok && base.ok && seed.value).not.toBe(base.ok && base.value);
    expect(time).toMatchObject({
      ok: true,
      value: (base as { value: bigint }).value + 1_000n,
      gasUsed: (base as { gasUsed: number }).gasUsed,
    });
  });
});
