import { afterEach, describe, expect, it, vi } from 'vitest';
import { fixture } from '@ri-sandbox/test-fixtures';
import type { SandboxConfigInput, SandboxInstance } from '@ri-sandbox/core';
import { errorOf, hostFunctions, testSandbox, valueOf } from '../test/helpers';
import { unseen as unseenVariant } from './bench/suite';

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

let named = 0;

/**
 * `bytes` as no other module of this process is (see the bench's `unseen`): bytes that no factory has
 * compiled (what every factory compiled is shared with the others, see the last tests).
 */
const unseen = (bytes: Uint8Array) => unseenVariant(bytes, named++);

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
    const fibonacci = unseen(fixture('fibonacci'));
    for (const config of [{}, {}, { maxGas: 5 }, { maxMemoryBytes: 1 << 20 }, { maxCallDepth: 10 }]) {
      const created = sandbox.create(config);
      if (!created.ok) throw new Error();
      expect((await sandbox.load(created.value, fibonacci)).ok).toBe(true);
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
    const fibonacci = unseen(fixture('fibonacci'));
    const loaded = await Promise.all(instances.map((instance) => sandbox.load(instance, fibonacci)));
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
    await Promise.all(limited.map((instance) => sandbox.load(instance, fibonacci)));
    expect(compiled.count).toBe(3);
  });

  it("compiles for a load that waited on another's failure, once, and shares a failure of the module", async () => {
    const sandbox = testSandbox();
    const compiled = compilations();
    const partial = instanceOf(sandbox, { hostFunctions: { host_add: hostFunctions().host_add } });
    const full = [1, 2].map(() => instanceOf(sandbox, { hostFunctions: hostFunctions() }));
    const hostCaller = unseen(fixture('host-caller'));
    const [refused, ...loaded] = await Promise.all(
      [partial, ...full].map((instance) => sandbox.load(instance, hostCaller)),
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

describe('compiled modules shared by the factories of a process', () => {
  afterEach(() => vi.restoreAllMocks());

  it('lets a new factory of the same settings load what another compiled, without compiling it', async () => {
    const fibonacci = unseen(fixture('fibonacci'));
    const first = testSandbox();
    const one = instanceOf(first);
    expect((await first.load(one, fibonacci)).ok).toBe(true);
    const compiled = compilations();
    const second = testSandbox();
    const two = instanceOf(second);
    expect((await second.load(two, fibonacci)).ok).toBe(true);
    expect(compiled.count).toBe(0);
    const [a, b] = [first.execute(one, 'fib', [20]), second.execute(two, 'fib', [20])];
    expect(a.ok && b.ok && [a.value, a.gasUsed]).toEqual(b.ok && [b.value, b.gasUsed]);
    // The second factory keeps it too: the first one's going changes nothing for it.
    first.destroy(one);
    expect(valueOf(second.execute(two, 'fib', [10]))).toBe(55n);
  });

  it('compiles again for a factory whose settings shape the module otherwise', async () => {
    const matmul = unseen(fixture('matmul'));
    const base = testSandbox();
    expect((await base.load(instanceOf(base), matmul)).ok).toBe(true);
    const compiled = compilations();
    for (const options of [
      { canonicalizeNaNs: false },
      { memoryGrowFailure: 'return-minus-one' as const },
      { costs: { defaultCost: 2, instructions: {} } },
    ]) {
      const sandbox = testSandbox(options);
      expect((await sandbox.load(instanceOf(sandbox), matmul)).ok).toBe(true);
    }
    expect(compiled.count).toBe(3);
    // And a config's limits, as within one factory.
    const limited = testSandbox();
    expect((await limited.load(instanceOf(limited, { maxCallDepth: 77 }), matmul)).ok).toBe(true);
    expect(compiled.count).toBe(4);
  });

  it("checks a shared module against the new factory's host functions", async () => {
    const hostCaller = unseen(fixture('host-caller'));
    const first = testSandbox();
    expect((await first.load(instanceOf(first, { hostFunctions: hostFunctions() }), hostCaller)).ok).toBe(
      true,
    );
    const second = testSandbox();
    const partial = instanceOf(second, { hostFunctions: { host_add: hostFunctions().host_add } });
    expect(errorOf(await second.load(partial, hostCaller)).message).toMatch(/env.host_log .* not provided/);
    const full = instanceOf(second, { hostFunctions: hostFunctions() });
    expect((await second.load(full, hostCaller)).ok).toBe(true);
    expect(valueOf(second.execute(full, 'call_add', [2, 3]))).toBe(5);
  });

  it('transforms for a factory with a store of prepared modules, so that the store is given the module', async () => {
    const sort = unseen(fixture('sort'));
    const first = testSandbox();
    expect((await first.load(instanceOf(first), sort)).ok).toBe(true);
    const store = new Map<string, Uint8Array>();
    const withStore = testSandbox({ preparedModules: store });
    expect((await withStore.load(instanceOf(withStore), sort)).ok).toBe(true);
    // The store is handed the module during the load.
    expect(store.size).toBe(1);
  });
});
