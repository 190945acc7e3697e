import { afterEach, describe, expect, it, vi } from 'vitest';
import { fixture } from '@ri-sandbox/test-fixtures';
import type { SandboxConfigInput, SandboxInstance } from '@ri-sandbox/core';
import { errorOf, hostFunctions, testSandbox, valueOf } from '../test/helpers';

type LoadResult = Awaited<ReturnType<ReturnType<typeof testSandbox>['load']>>;

/** Counts compilations: small modules are compiled synchronously, others asynchronously. */
function compilations(): { readonly count: number } {
  const Module = WebAssembly.Module;
  // The spy calls its implementation without `new`; modules made through it are still modules.
  const sync = vi.spyOn(WebAssembly, 'Module').mockImplementation((bytes) => new Module(bytes));
  WebAssembly.Module.prototype = Module.prototype;
  const async = vi.spyOn(WebAssembly, 'compile');
  return {
    get count() {
      return sync.mock.calls.length + async.mock.calls.length;
    },
  };
}

/** A new instance of `sandbox` under `config`. */
function instanceOf(
  sandbox: ReturnType<typeof testSandbox>,
  config: SandboxConfigInput = {},
): SandboxInstance {
  const created = sandbox.create(config);
  if (!created.ok) throw new Error(created.error.message);
  return created.value;
}

describe('compiled module cache', () => {
  afterEach(() => vi.restoreAllMocks());

  it('compiles once per module and per config that shapes the instrumentation', async () => {
    const sandbox = testSandbox(); // compiles the snapshot checksum's kernel, not counted
    const compiled = compilations();
    for (const config of [{}, {}, { maxGas: 5 }, { maxMemoryBytes: 1 << 20 }, { maxCallDepth: 10 }]) {
      const created = sandbox.create(config);
      if (!created.ok) throw new Error();
      expect((await sandbox.load(created.value, fixture('fibonacci'))).ok).toBe(true);
    }
    // {} and {} and { maxGas } share one compilation; memory and depth limits each need their own.
    expect(compiled.count).toBe(3);
  });

  it("still checks a cached module against each config's host functions", async () => {
    const sandbox = testSandbox();
    const full = sandbox.create({ hostFunctions: hostFunctions() });
    const partial = sandbox.create({ hostFunctions: { host_add: hostFunctions().host_add } });
    if (!full.ok || !partial.ok) throw new Error();
    expect((await sandbox.load(full.value, fixture('host-caller'))).ok).toBe(true);
    expect(errorOf(await sandbox.load(partial.value, fixture('host-caller'))).message).toMatch(
      /env.host_log .* not provided/,
    );
    expect(valueOf(sandbox.execute(full.value, 'call_add', [2, 3]))).toBe(5);
  });

  it('compiles a module once for loads that ask for it at the same time', async () => {
    const sandbox = testSandbox(); // compiles the snapshot checksum's kernel, not counted
    const compiled = compilations();
    const instances = [1, 2, 3, 4].map(() => instanceOf(sandbox));
    const loaded = await Promise.all(
      instances.map((instance) => sandbox.load(instance, fixture('fibonacci'))),
    );
    expect(loaded.every((result) => result.ok)).toBe(true);
    expect(compiled.count).toBe(1);
    const runs = instances.map((instance) => sandbox.execute(instance, 'fib', [20]));
    expect(runs.every((run) => run.ok)).toBe(true);
    expect(
      new Set(runs.map((run) => (run.ok ? `${String(run.value)}:${run.gasUsed}` : run.error.code))).size,
    ).toBe(1);
    // Under other limits, at the same time: a compilation each.
    const limited = [{ maxCallDepth: 50 }, { maxMemoryBytes: 1 << 20 }].map((config) =>
      instanceOf(sandbox, config),
    );
    await Promise.all(limited.map((instance) => sandbox.load(instance, fixture('fibonacci'))));
    expect(compiled.count).toBe(3);
  });

  it("compiles for a load that waited on another's failure, once, and shares a failure of the module", async () => {
    const sandbox = testSandbox();
    const compiled = compilations();
    const partial = instanceOf(sandbox, { hostFunctions: { host_add: hostFunctions().host_add } });
    const full = [1, 2].map(() => instanceOf(sandbox, { hostFunctions: hostFunctions() }));
    const [refused, ...loaded] = await Promise.all(
      [partial, ...full].map((instance) => sandbox.load(instance, fixture('host-caller'))),
    );
    expect(errorOf(refused as LoadResult).message).toMatch(/env.host_log .* not provided/);
    expect(loaded.map((result) => result.ok)).toEqual([true, true]);
    expect(compiled.count).toBe(1);
    expect(valueOf(sandbox.execute(full[1] as SandboxInstance, 'call_add', [2, 3]))).toBe(5);
    const invalid = fixture('add').subarray(0, 20);
    const failures = await Promise.all([1, 2, 3].map(() => sandbox.load(instanceOf(sandbox), invalid)));
    expect(new Set(failures.map((failure) => errorOf(failure).message)).size).toBe(1);
    expect(errorOf(failures[0] as LoadResult).code).toBe('INVALID_MODULE');
  });

  it('copies the input before anything else, so the caller may reuse its buffer at once', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    const bytes = fixture('add');
    const pending = sandbox.load(created.value, bytes);
    bytes.fill(0);
    expect((await pending).ok).toBe(true);
    expect(valueOf(sandbox.execute(created.value, 'add', [2, 2]))).toBe(4);
    const fromBuffer = sandbox.create();
    if (!fromBuffer.ok) throw new Error();
    expect((await sandbox.load(fromBuffer.value, fixture('add').buffer)).ok).toBe(true);
    expect(errorOf(await sandbox.load(fromBuffer.value, 'nope' as never)).code).toBe('INVALID_MODULE');
  });

  it('copies the bytes of a module it compiles once', async () => {
    const sandbox = testSandbox();
    const bytes = fixture('sort');
    const slice = vi.spyOn(Uint8Array.prototype, 'slice');
    const loaded = await sandbox.load(instanceOf(sandbox), bytes);
    const copies = slice.mock.contexts.filter((copied) => (copied as Uint8Array).length === bytes.length);
    slice.mockRestore();
    expect(loaded.ok).toBe(true);
    expect(copies).toEqual([bytes]);
  });

  it('finds a module it compiled by the caller’s bytes, without copying them, before returning', async () => {
    const sandbox = testSandbox();
    await sandbox.load(instanceOf(sandbox), fixture('add'));
    const again = instanceOf(sandbox);
    const bytes = fixture('add');
    const slice = vi.spyOn(Uint8Array.prototype, 'slice');
    const pending = sandbox.load(again, bytes);
    expect(slice).not.toHaveBeenCalled();
    slice.mockRestore();
    bytes.fill(0);
    expect((await pending).ok).toBe(true);
    expect(valueOf(sandbox.execute(again, 'add', [2, 3]))).toBe(5);
    // A buffer, and a view into the middle of one, are found the same way.
    const fromBuffer = instanceOf(sandbox);
    expect((await sandbox.load(fromBuffer, fixture('add').slice().buffer)).ok).toBe(true);
    const add = fixture('add');
    const padded = new Uint8Array(add.length + 3);
    padded.set(add, 3);
    const fromView = instanceOf(sandbox);
    expect((await sandbox.load(fromView, padded.subarray(3))).ok).toBe(true);
    expect(valueOf(sandbox.execute(fromView, 'add', [4, 5]))).toBe(9);
  });

  it('keeps a bounded number of modules', async () => {
    const sandbox = testSandbox(); // compiles the snapshot checksum's kernel, not counted
    const compiled = compilations();
    const loadWith = async (maxCallDepth: number) => {
      const created = sandbox.create({ maxCallDepth });
      if (!created.ok) throw new Error();
      await sandbox.load(created.value, fixture('add'));
    };
    for (let depth = 1; depth <= 65; depth++) await loadWith(depth);
    expect(compiled.count).toBe(65);
    await loadWith(65); // most recent: still cached
    await loadWith(1); // the oldest was evicted
    expect(compiled.count).toBe(66);
  });
});
