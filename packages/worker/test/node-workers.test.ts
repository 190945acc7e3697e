/**
 * The worker sandbox over real `worker_threads` workers: what only a real
 * thread shows. Host functions that block (a loop, a wait on a lock) are
 * stopped by terminating their worker; a worker that ends itself is a crash;
 * instances are restored from their last snapshots or reported lost.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SandboxError } from '@ri-sandbox/core';
import { createWorkerSandbox, spawnNodeWorker } from '../src/node';
import { type SpawnWorker, createPool } from '../src/pool';
import type { WorkerInstance, WorkerSandbox, WorkerSandboxOptions } from '../src/types';
import { GUEST, HOST_FUNCTIONS, nodeWorkerScript } from './support';

let script: URL;
const open: WorkerSandbox[] = [];

beforeAll(async () => {
  script = await nodeWorkerScript();
}, 300_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

function pool(options: WorkerSandboxOptions = {}): WorkerSandbox {
  const created = createWorkerSandbox({
    workers: 2,
    hostFunctions: HOST_FUNCTIONS,
    workerUrl: script,
    ...options,
  });
  open.push(created);
  return created;
}

function value<T>(result: { ok: true; value: T } | { ok: false; error: SandboxError }): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** An instance with the guest loaded; `maxExecutionMs` small, since the tests of a kill depend on it. */
async function loaded(sandbox: WorkerSandbox, maxExecutionMs = 60_000): Promise<WorkerInstance> {
  const instance = value(await sandbox.create({ maxExecutionMs, maxGas: 1e9 }));
  value(await sandbox.load(instance, GUEST));
  return instance;
}

/**
 * The grace period of the tests that kill: an instance with a 50 ms limit also runs ordinary calls
 * first, which a worker starved by a busy machine must still finish within limit plus grace.
 */
const GRACE_MS = 1000;

/** A bound only a missing kill could break: far above the limit and grace, whatever the machine is doing. */
const GENEROUS_BOUND_MS = 20_000;

describe('the worker sandbox on worker_threads', () => {
  it('imports the store of prepared modules in every worker: a later worker loads what an earlier one kept', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ri-sandbox-prepared-'));
    vi.stubEnv('RI_SANDBOX_TEST_PREPARED', folder);
    try {
      const store = new URL('./prepared-folder.mjs', import.meta.url);
      const first = pool({ workers: 1, preparedModules: store });
      const instance = await loaded(first);
      // The worker's write is not waited for by the load.
      await vi.waitFor(
        () => {
          expect(readdirSync(folder)).toHaveLength(1);
        },
        { timeout: GENEROUS_BOUND_MS },
      );
      const second = pool({ workers: 1, preparedModules: store });
      const again = await loaded(second);
      const [a, b] = [await first.execute(instance, 'fib', 20), await second.execute(again, 'fib', 20)];
      expect(b).toMatchObject({ ok: true, value: 6765, gasUsed: a.ok ? a.gasUsed : -1 });
      expect(readdirSync(folder)).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('runs instances in different workers at once', async () => {
    const sandbox = pool();
    const [a, b] = await Promise.all([loaded(sandbox), loaded(sandbox)]);
    expect(new Set([a.worker, b.worker])).toEqual(new Set([0, 1]));
    const results = await Promise.all([sandbox.execute(a, 'fib', 24), sandbox.execute(b, 'fib', 24)]);
    expect(results.map((r) => r.ok && r.value)).toEqual([46368, 46368]);
    expect(await sandbox.execute(a, 'greeted')).toMatchObject({ value: 0x216968 });
  });

  it('terminates the worker of a host function that loops, and reports its instances lost', async () => {
    const sandbox = pool({ workers: 1, graceMs: GRACE_MS });
    const victim = await loaded(sandbox, 50);
    const neighbour = await loaded(sandbox);
    const started = performance.now();
    const killed = await sandbox.execute(victim, 'spin');
    expect(performance.now() - started).toBeLessThan(GENEROUS_BOUND_MS);
    expect(killed).toMatchObject({
      ok: false,
      error: { code: 'TIMEOUT', hardKill: true, recovered: false, limitMs: 50 },
    });
    if (!killed.ok && killed.error.code === 'TIMEOUT')
      expect(killed.error.elapsedMs).toBeGreaterThanOrEqual(50 + GRACE_MS);
    for (const instance of [victim, neighbour]) {
      const after = await sandbox.execute(instance, 'get');
      expect(after).toMatchObject({ ok: false, error: { code: 'INSTANCE_DESTROYED' } });
      expect(!after.ok && after.error.message).toMatch(/its worker was terminated/);
      expect(instance.status).toBe('destroyed');
    }
    // The worker was replaced.
    const next = await loaded(sandbox);
    expect(await sandbox.execute(next, 'fib', 10)).toMatchObject({ value: 55 });
  });

  it('restores the instances of a killed worker from their last snapshots, if asked to', async () => {
    const sandbox = pool({ workers: 1, graceMs: GRACE_MS, recovery: 'last-snapshot' });
    const victim = await loaded(sandbox, 50);
    const saved = await loaded(sandbox);
    const unsaved = await loaded(sandbox);
    value(await sandbox.execute(victim, 'add', 7));
    value(await sandbox.snapshot(victim));
    value(await sandbox.execute(victim, 'add', 100));
    value(await sandbox.execute(saved, 'add', 3));
    value(await sandbox.snapshot(saved));
    // A lock nobody releases; and calls waiting behind it, for the victim and its neighbours.
    const killed = sandbox.execute(victim, 'wait');
    const afterwards = [
      sandbox.execute(victim, 'get'),
      sandbox.execute(saved, 'add', 1),
      sandbox.execute(unsaved, 'get'),
    ];
    expect(await killed).toMatchObject({
      ok: false,
      error: { code: 'TIMEOUT', hardKill: true, recovered: true },
    });
    const [victimGet, savedAdd, unsavedGet] = await Promise.all(afterwards);
    expect(victimGet).toMatchObject({ ok: true, value: 7 });
    expect(savedAdd).toMatchObject({ ok: true, value: 4 });
    expect(unsavedGet).toMatchObject({ ok: false, error: { code: 'INSTANCE_DESTROYED' } });
    expect(victim).toMatchObject({ status: 'loaded', worker: 0 });
  });

  it('treats a worker that ends itself as a crash, the same way', async () => {
    const sandbox = pool({ workers: 1, recovery: 'last-snapshot' });
    const crasher = await loaded(sandbox);
    const neighbour = await loaded(sandbox);
    value(await sandbox.execute(neighbour, 'add', 9));
    value(await sandbox.snapshot(neighbour));
    const crashed = await sandbox.execute(crasher, 'crash');
    expect(crashed).toMatchObject({ ok: false, error: { code: 'WORKER_CRASHED', recovered: false } });
    expect(!crashed.ok && crashed.error.message).toMatch(/exited with code 3/);
    expect(await sandbox.execute(neighbour, 'get')).toMatchObject({ ok: true, value: 9 });
    expect(await sandbox.execute(crasher, 'get')).toMatchObject({
      ok: false,
      error: { code: 'INSTANCE_DESTROYED' },
    });
  });

  it('answers quick calls through shared memory exactly as by message, and sends them no message', async () => {
    let messages = 0;
    const counting: SpawnWorker = (url) => {
      const handle = spawnNodeWorker(url);
      return {
        ...handle,
        send: (message, transfer) => {
          messages++;
          handle.send(message, transfer);
        },
      };
    };
    // A spin far above what a busy machine needs, so that every quick reply comes through memory.
    const quick = createPool(
      counting,
      script,
      { hostFunctions: HOST_FUNCTIONS, replySpinMicroseconds: 1_000_000 },
      1,
    );
    const slow = pool({ workers: 1, replySpinMicroseconds: 0 });
    open.push(quick);
    const calls: [string, unknown?][] = [
      ['add', 7],
      ['get'],
      ['triple', 2n ** 40n],
      ['greeted'],
      ['summed'],
      ['fib', 20],
      ['trap'],
      ['no_such_export'],
      ['add', 'not a number'],
      ['boom'],
      ['fib', 40],
    ];
    const run = async (sandbox: WorkerSandbox) => {
      const instance = value(await sandbox.create({ maxExecutionMs: 60_000, maxGas: 5_000_000 }));
      value(await sandbox.load(instance, GUEST));
      const results: unknown[] = [];
      for (const [action, payload] of calls) {
        const result = (await sandbox.execute(instance, action, payload)) as {
          durationMs?: number;
          metrics?: { executionMs: number };
        };
        // Timings differ from run to run; everything else must not.
        results.push({
          ...result,
          ...(result.durationMs === undefined ? {} : { durationMs: 0 }),
          ...(result.metrics === undefined ? {} : { metrics: { ...result.metrics, executionMs: 0 } }),
        });
      }
      results.push({ ...value(await sandbox.getMetrics(instance)), executionMs: 0 });
      return { results, handle: { ...instance.metrics, executionMs: 0 }, status: instance.status };
    };
    const before = messages;
    const [viaMemory, viaMessages] = [await run(quick), await run(slow)];
    expect(viaMemory).toEqual(viaMessages);
    expect(viaMemory.results.slice(0, 3)).toMatchObject([
      { ok: true, value: 7 },
      { ok: true, value: 7 },
      { ok: true, value: 3n * 2n ** 40n },
    ]);
    expect(viaMemory.results.slice(-3)).toMatchObject([
      { ok: false, error: { code: 'HOST_FUNCTION_ERROR', cause: { message: 'boom' } } },
      { ok: false, error: { code: 'GAS_EXHAUSTED' } },
      { gasLimit: 5_000_000 },
    ]);
    // Only create and load went by message (the reply memory cannot carry exactly, an Error, came back by one).
    expect(messages - before).toBe(2);
  });

  it('closes with a blocked call in flight: it answers at once, nothing hangs', async () => {
    const sandbox = pool({ workers: 1 });
    const blocked = await loaded(sandbox);
    const pending = sandbox.execute(blocked, 'wait');
    await sandbox.close();
    expect(await pending).toMatchObject({ ok: false, error: { code: 'INSTANCE_DESTROYED' } });
  });
});
