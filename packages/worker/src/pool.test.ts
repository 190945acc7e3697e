import { afterEach, describe, expect, it, vi } from 'vitest';
import { SandboxOptionsError, type SandboxError } from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { GUEST, HOST_FUNCTIONS, PREPARED_STORE, preparedStore, spawnInThread } from '../test/support';
import { type SpawnWorker, createPool } from './pool';
import { hostFunctionTable } from './serve';
import type { WorkerInstance, WorkerSandbox, WorkerSandboxOptions } from './types';

const open: WorkerSandbox[] = [];

function pool(options: WorkerSandboxOptions = {}): WorkerSandbox {
  const created = createPool(
    spawnInThread,
    'in-thread',
    { workers: 2, hostFunctions: HOST_FUNCTIONS, ...options },
    1,
  );
  open.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

function value<T>(result: { ok: true; value: T } | { ok: false; error: SandboxError }): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

function error(result: { ok: boolean; error?: SandboxError }): SandboxError {
  expect(result.ok).toBe(false);
  return result.error as SandboxError;
}

async function loaded(
  sandbox: WorkerSandbox,
  bytes: Uint8Array = GUEST,
  config = {},
): Promise<WorkerInstance> {
  const instance = value(await sandbox.create({ maxExecutionMs: 60_000, ...config }));
  value(await sandbox.load(instance, bytes));
  return instance;
}

describe('the worker pool (workers on this thread)', () => {
  it('sends quick calls through shared memory, here answered by message (one thread cannot spin for itself)', async () => {
    const sharing: SpawnWorker = (url) => ({ ...spawnInThread(url), sharesMemory: true });
    const sandbox = createPool(
      sharing,
      'in-thread',
      { workers: 1, hostFunctions: HOST_FUNCTIONS, replySpinMicroseconds: 1 },
      1,
    );
    open.push(sandbox);
    const instance = await loaded(sandbox);
    const sums = [];
    for (const n of [1, 2, 3]) sums.push(await sandbox.execute(instance, 'add', n));
    expect(sums.map((r) => r.ok && r.value)).toEqual([1, 3, 6]);
    expect(error(await sandbox.execute(instance, 'boom'))).toMatchObject({ code: 'HOST_FUNCTION_ERROR' });
    // Arguments that throw when read go the way of what cannot be cloned: a typed error, the pool intact.
    const unreadable = {
      get n(): never {
        throw new Error('not readable');
      },
    };
    expect(error(await sandbox.execute(instance, 'add', unreadable))).toMatchObject({
      code: 'INVALID_PAYLOAD',
      message: expect.stringMatching(/not readable/) as unknown,
    });
    expect(await sandbox.execute(instance, 'add', 4)).toMatchObject({ ok: true, value: 10 });
    expect(value(await sandbox.getMetrics(instance)).gasUsed).toBeGreaterThan(0);
    // A message between quick calls, and quick calls after it.
    value(await sandbox.load(instance, GUEST));
    expect(await sandbox.execute(instance, 'get')).toMatchObject({ ok: true, value: 0 });
    expect(instance.metrics.gasUsed).toBeGreaterThan(0);
  });

  it('runs the contract through a worker, and keeps the handle up to date', async () => {
    const sandbox = pool();
    const instance = value(await sandbox.create({ maxGas: 12_345_678, maxExecutionMs: 60_000 }));
    expect(instance).toMatchObject({ id: 'sandbox-0', status: 'created', worker: 0 });
    expect(instance.config).toMatchObject({
      maxGas: 12_345_678,
      hostFunctions: expect.arrayContaining(['sum', 'spin']),
    });
    const info = value(await sandbox.load(instance, GUEST));
    expect(info.exports.map((e) => e.name)).toContain('fib');
    const fib = await sandbox.execute(instance, 'fib', 20);
    expect(fib).toMatchObject({ ok: true, value: 6765 });
    expect(instance.status).toBe('loaded');
    expect(instance.metrics.gasUsed).toBe(fib.ok ? fib.gasUsed : -1);
    expect(value(await sandbox.getMetrics(instance)).gasLimit).toBe(12_345_678);
    value(await sandbox.destroy(instance));
    expect(instance.status).toBe('destroyed');
    expect(await sandbox.destroy(instance)).toEqual({ ok: true, value: undefined });
    expect(error(await sandbox.execute(instance, 'fib', 1)).code).toBe('INSTANCE_DESTROYED');
  });

  it('sets no hard-kill timer past what timers can wait (2^31 - 1 ms)', async () => {
    const sandbox = pool();
    const patient = await loaded(sandbox, GUEST, { maxExecutionMs: 1e12, maxGas: 1e8 });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      expect(await sandbox.execute(patient, 'fib', 20)).toMatchObject({ ok: true, value: 6765 });
      const short = await loaded(sandbox, GUEST, { maxExecutionMs: 1000 });
      expect(await sandbox.execute(short, 'fib', 2)).toMatchObject({ ok: true, value: 1 });
      // A timer asked to wait longer fires at once, which would kill the call before it ran.
      const delays = timers.mock.calls.map(([, delay]) => delay);
      expect(delays).toContain(1100);
      expect(delays.every((delay) => delay === undefined || delay <= 2 ** 31 - 1)).toBe(true);
    } finally {
      timers.mockRestore();
    }
  });

  it('spreads instances over the workers, and keeps the order of calls on each', async () => {
    const sandbox = pool();
    const [a, b, c] = await Promise.all([loaded(sandbox), loaded(sandbox), loaded(sandbox)]);
    expect([a.worker, b.worker, c.worker].sort()).toEqual([0, 0, 1]);
    const calls = Array.from({ length: 50 }, (_, i) => sandbox.execute(a, 'add', i + 1));
    const results = await Promise.all(calls);
    expect(results.map((r) => (r.ok ? r.value : r.error.code))).toEqual(
      Array.from({ length: 50 }, (_, i) => ((i + 1) * (i + 2)) / 2),
    );
    expect(await sandbox.execute(b, 'get')).toMatchObject({ value: 0 });
  });

  it('gives guests the host functions module, which reads and writes their memory', async () => {
    const sandbox = pool();
    const instance = await loaded(sandbox);
    expect(await sandbox.execute(instance, 'summed')).toMatchObject({ ok: true, value: 294 });
    expect(await sandbox.execute(instance, 'greeted')).toMatchObject({ ok: true, value: 0x216968 });
    const some = value(await sandbox.create({ hostFunctions: ['host_add', 'host_log', 'host_i64'] }));
    expect(some.config.hostFunctions).toEqual(['host_add', 'host_log', 'host_i64']);
    value(await sandbox.load(some, fixture('host-caller')));
    expect(error(await sandbox.load(some, GUEST)).message).toMatch(/env\.sum/);
  });

  it('refuses, with typed errors, what cannot cross to a worker or is not there', async () => {
    const sandbox = pool();
    const functions = await sandbox.create({ hostFunctions: { f: {} } as never });
    expect(error(functions)).toMatchObject({ code: 'INVALID_CONFIG', field: 'hostFunctions' });
    expect(error(await sandbox.create({ hostFunctions: ['nope'] })).message).toMatch(
      /no host function nope \(offered: /,
    );
    expect(error(await sandbox.create(7 as never)).code).toBe('INVALID_CONFIG');
    expect(error(await sandbox.create({ maxGas: -1 })).code).toBe('INVALID_CONFIG');
    expect(error(await sandbox.create({ onTick: () => 1 } as never))).toMatchObject({
      code: 'INVALID_CONFIG',
    });
    const instance = await loaded(sandbox);
    expect(error(await sandbox.execute(instance, 'fib', { f: () => 1 }))).toMatchObject({
      code: 'INVALID_PAYLOAD',
    });
    expect(error(await sandbox.execute({ id: 'sandbox-0' } as never, 'fib', 1))).toMatchObject({
      code: 'INVALID_STATE',
      status: 'unknown',
    });
    expect(error(await sandbox.load(instance, new Uint8Array([1, 2, 3]))).code).toBe('INVALID_MODULE');
    expect(await sandbox.execute(instance, 'fib', 10)).toMatchObject({ ok: true, value: 55 });
  });

  it('throws for options it cannot use, as createWasmSandbox does', () => {
    const bad: WorkerSandboxOptions[] = [
      { workers: 0 },
      { workers: 1.5 },
      { graceMs: -1 },
      { recovery: 'sometimes' as never },
      { hostFunctions: 5 as never },
      { preparedModules: {} as never },
      { memoryGrowFailure: 'explode' as never },
      { reuseMemories: 'yes' as never },
      { replySpinMicroseconds: -1 },
      { replySpinMicroseconds: 1_000_001 },
    ];
    for (const options of bad) expect(() => pool(options)).toThrow(SandboxOptionsError);
    // Options that throw when read, as a getter or a proxy does.
    const unreadable = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('not now');
        },
      },
    );
    expect(() => createPool(spawnInThread, 'in-thread', unreadable, 1)).toThrow(
      /reading them threw: not now/,
    );
    expect(() => pool({ replySpinMicroseconds: 1_000_001 })).toThrow(
      /replySpinMicroseconds.*from 0 to 1000000/,
    );
  });

  it('answers every call with the import error when the host functions module cannot be used', async () => {
    const missing = pool({ hostFunctions: new URL('./nowhere.mjs', HOST_FUNCTIONS) });
    expect(error(await missing.create())).toMatchObject({ code: 'INVALID_CONFIG', field: 'hostFunctions' });
    expect(hostFunctionTable(5).ok).toBe(false);
    expect(hostFunctionTable([{ nope: true }]).ok).toBe(false);
    const table = hostFunctionTable([{ name: 'f', params: [], results: [], handler: () => undefined }]);
    expect(Object.keys(value(table))).toEqual(['f']);
    const moduled = hostFunctionTable([
      { module: 'm', name: 'g', params: [], results: [], handler: () => 1 },
    ]);
    expect(Object.keys(value(moduled))).toEqual(['m.g']);
  });

  it('gives every worker the store of prepared modules its module exports: later workers compile what a load made', async () => {
    const store = preparedStore();
    store.entries.clear();
    store.asked.length = 0;
    const first = pool({ workers: 1, preparedModules: PREPARED_STORE });
    const instance = await loaded(first);
    const [key] = [...store.entries.keys()];
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const artifact = store.entries.get(key as string);
    // Another pool's worker (another process, say) finds it, and keeps nothing new.
    const second = pool({ workers: 1, preparedModules: PREPARED_STORE });
    const again = await loaded(second);
    expect(store.asked).toEqual([key, key]);
    expect(store.entries.get(key as string)).toBe(artifact);
    const [a, b] = [await first.execute(instance, 'fib', 20), await second.execute(again, 'fib', 20)];
    expect(a).toMatchObject({ ok: true, value: 6765 });
    expect(b.ok && a.ok && b.gasUsed === a.gasUsed).toBe(true);
  });

  it('answers every call with INVALID_CONFIG when the store module cannot be imported or is not a store', async () => {
    const missing = pool({ preparedModules: new URL('./nowhere.mjs', PREPARED_STORE) });
    expect(error(await missing.create())).toMatchObject({ code: 'INVALID_CONFIG', field: 'preparedModules' });
    // The host functions module's default export is an object, but not a store.
    const notStore = pool({ preparedModules: HOST_FUNCTIONS });
    expect(error(await notStore.create())).toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'preparedModules',
    });
  });

  it('suspends an instance in one worker and resumes it in the least loaded one, state intact', async () => {
    const sandbox = pool();
    const moving = await loaded(sandbox);
    await loaded(sandbox);
    const third = await loaded(sandbox);
    expect([moving.worker, third.worker]).toEqual([0, 0]);
    value(await sandbox.execute(moving, 'add', 41));
    value(await sandbox.suspend(moving));
    value(await sandbox.suspend(moving));
    expect(moving).toMatchObject({ status: 'suspended', worker: undefined });
    expect(error(await sandbox.execute(moving, 'get'))).toMatchObject({
      code: 'INVALID_STATE',
      status: 'suspended',
    });
    expect(value(await sandbox.getMetrics(moving)).gasUsed).toBeGreaterThan(0);
    // Worker 1 holds one instance, worker 0 one: the first of the least loaded.
    await sandbox.destroy(third);
    value(await sandbox.resume(moving));
    // As the sandbox itself answers: a loaded instance is not resumed again.
    expect(error(await sandbox.resume(moving))).toMatchObject({ code: 'INVALID_STATE', status: 'loaded' });
    expect(moving.status).toBe('loaded');
    expect(await sandbox.execute(moving, 'add', 1)).toMatchObject({ value: 42 });
    const fresh = value(await sandbox.create());
    expect(error(await sandbox.suspend(fresh))).toMatchObject({ code: 'INVALID_STATE', status: 'created' });
    value(await sandbox.suspend(moving));
    value(await sandbox.destroy(moving));
    expect(error(await sandbox.resume(moving)).code).toBe('INSTANCE_DESTROYED');
  });

  it('snapshots and restores, and reads and writes a WASI instance files', async () => {
    const sandbox = pool();
    const instance = await loaded(sandbox);
    value(await sandbox.execute(instance, 'add', 5));
    const saved = value(await sandbox.snapshot(instance));
    // Copied into a buffer of the caller's when it fits, as the sandbox in this thread writes it there.
    const into = new Uint8Array(saved.length + 8);
    const copied = value(await sandbox.snapshot(instance, { into }));
    expect(copied.buffer).toBe(into.buffer);
    expect(copied).toEqual(saved);
    expect(value(await sandbox.snapshot(instance, { into: into.subarray(0, 4) })).buffer).not.toBe(
      into.buffer,
    );
    expect(error(await sandbox.snapshot(instance, { into: [1, 2] as never }))).toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'into',
    });
    expect(error(await sandbox.snapshot({} as never, { into: [1, 2] as never })).code).toBe('INVALID_STATE');
    value(await sandbox.execute(instance, 'add', 5));
    value(await sandbox.restore(instance, saved));
    expect(await sandbox.execute(instance, 'get')).toMatchObject({ value: 5 });
    expect(error(await sandbox.restore(instance, new Uint8Array(8))).code).toBe('SNAPSHOT_ERROR');
    const wasi = value(await sandbox.create({ wasi: { files: { '/a.txt': 'A' } } }));
    value(await sandbox.load(wasi, fixture('add')));
    value(await sandbox.writeFiles(wasi, { '/b.txt': 'B' }));
    expect(Object.keys(value(await sandbox.readFiles(wasi)))).toEqual(['/b.txt']);
    expect(error(await sandbox.readFiles(instance)).code).toBe('INVALID_STATE');
  });

  it('answers calls in flight and later ones with a typed error once closed', async () => {
    const sandbox = pool();
    const instance = await loaded(sandbox);
    const suspended = await loaded(sandbox);
    value(await sandbox.suspend(suspended));
    const pending = [sandbox.execute(instance, 'fib', 25), sandbox.execute(instance, 'fib', 25)];
    await sandbox.close();
    await sandbox.close();
    for (const result of await Promise.all(pending)) expect(error(result).code).toBe('INSTANCE_DESTROYED');
    expect(error(await sandbox.execute(instance, 'get'))).toMatchObject({
      reason: 'the worker sandbox was closed',
    });
    expect(error(await sandbox.create())).toMatchObject({ code: 'INVALID_STATE' });
    expect(error(await sandbox.resume(suspended)).code).toBe('INSTANCE_DESTROYED');
  });
});
