import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type HostCallContext,
  type SandboxConfigInput,
  type SandboxInstance,
  type SuspendingSandbox,
  defineHostFunction,
} from '@ri-sandbox/core';
import { MEMORY_POOL_MAX_USES } from '@ri-sandbox/loader';
import { CONTROL_EXPORT } from '@ri-sandbox/metering';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { errorOf, testSandbox, valueOf, valueOfResult } from '../test/helpers';
import { IDLE_BYTES_PER_PROCESS, IDLE_INITIAL_BYTES, IDLE_PER_MODULE } from './idle-instances';

/** What the host function `note` saw: the context of each call, and the value. */
let notes: { context: HostCallContext; value: number }[] = [];
const noteHandler = (value: number, context: HostCallContext) => {
  notes.push({ context, value });
};
const note = defineHostFunction({ name: 'note', params: ['i32'], results: [], handler: noteHandler });

/**
 * A guest with state of every kind an instance has: memory written by a data segment, globals (one
 * counted up by its start function), a table filled by an element segment, a passive data segment;
 * and what reads the builtins (random numbers, the event time) and calls the host.
 */
const STATEFUL = wat(`(module
  (import "env" "note" (func $note (param i32)))
  (import "env" "__get_random" (func $random (result i32)))
  (import "env" "__get_time" (func $time (result f64)))
  (type $r (func (result i32)))
  (memory 1 4)
  (data (i32.const 8) "abc")
  (data $passive "xyz")
  (table 4 funcref)
  (elem (i32.const 0) $one $two)
  (global $hidden (mut i32) (i32.const 5))
  (global $started (mut i32) (i32.const 0))
  (start $init)
  (func $init (global.set $started (i32.add (global.get $started) (i32.const 1))))
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func (export "scramble")
    (i32.store (i32.const 8) (i32.const -1))
    (i32.store (i32.const 60000) (i32.const 7))
    (global.set $hidden (i32.const 99))
    (table.set (i32.const 0) (ref.func $two))
    (table.set (i32.const 3) (ref.func $one)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "hidden") (result i32) (global.get $hidden))
  (func (export "started") (result i32) (global.get $started))
  (func (export "slot") (param i32) (result i32) (call_indirect (type $r) (local.get 0)))
  (func (export "random") (result i32) (call $random))
  (func (export "time") (result f64) (call $time))
  (func (export "note") (param i32) (call $note (local.get 0)))
  (func (export "drop") (data.drop $passive))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "growTable") (result i32) (table.grow (ref.null func) (i32.const 1))))`);

/** Counts `new WebAssembly.Instance` of guests (not of the snapshot kernels) while installed. */
const made = { count: 0 };
const isGuest = (module: WebAssembly.Module) =>
  WebAssembly.Module.exports(module).some((e) => e.name === CONTROL_EXPORT);
const OriginalInstance = WebAssembly.Instance;
beforeEach(() => {
  notes = [];
  made.count = 0;
  WebAssembly.Instance = new Proxy(OriginalInstance, {
    construct(target, args: [WebAssembly.Module, WebAssembly.Imports | undefined]) {
      if (isGuest(args[0])) made.count++;
      return new target(...args);
    },
  });
});
afterEach(() => {
  WebAssembly.Instance = OriginalInstance;
});

/** Counts `new WebAssembly.Memory` until `restore` is called. */
function countMemories() {
  const OriginalMemory = WebAssembly.Memory;
  const counted = { count: 0, restore: () => void (WebAssembly.Memory = OriginalMemory) };
  WebAssembly.Memory = new Proxy(OriginalMemory, {
    construct(target, args: [WebAssembly.MemoryDescriptor]) {
      counted.count++;
      return new target(...args);
    },
  });
  return counted;
}

async function loadInto(
  sandbox: SuspendingSandbox,
  config: SandboxConfigInput = {},
  bytes: Uint8Array = STATEFUL,
): Promise<SandboxInstance> {
  const created = sandbox.create({ hostFunctions: { note }, ...config });
  if (!created.ok) throw new Error(created.error.message);
  const loaded = await sandbox.load(created.value, bytes);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return created.value;
}

/** What a tenant observes of its instance: every kind of state, the builtins, and a snapshot. */
function observe(sandbox: SuspendingSandbox, instance: SandboxInstance) {
  const snapshot = sandbox.snapshot(instance);
  if (!snapshot.ok) throw new Error(snapshot.error.message);
  return {
    snapshot: snapshot.value,
    memory: [8, 60000].map((at) => valueOf(sandbox.execute(instance, 'load', at))),
    hidden: valueOf(sandbox.execute(instance, 'hidden')),
    started: valueOf(sandbox.execute(instance, 'started')),
    slots: [0, 1].map((at) => valueOf(sandbox.execute(instance, 'slot', at))),
    emptySlot: errorOf(sandbox.execute(instance, 'slot', 3)).code,
    random: [0, 1, 2].map(() => valueOf(sandbox.execute(instance, 'random'))),
    time: valueOf(sandbox.execute(instance, 'time')),
    // Everything but the durations, which differ from run to run.
    metrics: { ...(sandbox.getMetrics(instance) as { value: object }).value, executionMs: 0 },
  };
}

describe('reused instances', () => {
  it("serve the next load of their module in place of a new instance, in every way a new one's state", async () => {
    const sandbox = testSandbox();
    const fresh = testSandbox({ reuseMemories: false });
    for (const seed of [1, 2, 3]) {
      const config = { deterministicSeed: seed, eventTimestamp: seed * 1000 };
      const tenant = await loadInto(sandbox, config);
      const expected = observe(fresh, await loadInto(fresh, config));
      expect(observe(sandbox, tenant)).toEqual(expected);
      // The next tenant finds everything as a new instance would have it, whatever this one did.
      valueOf(sandbox.execute(tenant, 'scramble'));
      valueOf(sandbox.execute(tenant, 'random'));
      expect(sandbox.destroy(tenant).ok).toBe(true);
    }
    // One instance for each load of the fresh factory, one in all for the other.
    expect(made.count).toBe(3 + 1);
  });

  it('give C programs (their heap, stack pointer, and data) the same runs as new instances', async () => {
    const workloads = [
      ['sort', 'sort_random', [5000, 3]],
      ['sha256', 'sha256_pattern', [20000]],
      ['matmul', 'matmul', [24]],
    ] as const;
    const sandbox = testSandbox();
    const fresh = testSandbox({ reuseMemories: false });
    for (const [name, action, args] of workloads) {
      const bytes = fixture(name);
      const runs = [];
      const madeByRun = [];
      for (const factory of [sandbox, sandbox, fresh]) {
        made.count = 0;
        const tenant = await loadInto(factory, { maxGas: 1e9, eventTimestamp: 0 }, bytes);
        const loaded = factory.snapshot(tenant);
        const result = factory.execute(tenant, action, [...args]);
        const after = factory.snapshot(tenant);
        factory.destroy(tenant);
        madeByRun.push(made.count);
        runs.push({ loaded, result: valueOf(result), gas: result.ok && result.gasUsed, after });
      }
      // The first load of the reusing factory made its instance; the second took it back.
      expect(madeByRun, name).toEqual([1, 0, 1]);
      expect(runs[1], name).toEqual(runs[2]);
    }
  });

  it('serve a reload of the same instance: the module replaced is put back as new', async () => {
    const sandbox = testSandbox();
    const instance = await loadInto(sandbox);
    valueOf(sandbox.execute(instance, 'scramble'));
    expect((await sandbox.load(instance, STATEFUL)).ok).toBe(true);
    // The second load made a new instance (the first was still in use); the third takes the first.
    valueOf(sandbox.execute(instance, 'scramble'));
    expect((await sandbox.load(instance, STATEFUL)).ok).toBe(true);
    expect(made.count).toBe(2);
    expect(valueOf(sandbox.execute(instance, 'hidden'))).toBe(5);
    expect(valueOf(sandbox.execute(instance, 'started'))).toBe(1);
    expect(valueOf(sandbox.execute(instance, 'load', 8))).toBe(0x636261);
  });

  it('give host functions the context of the load that has them now, and cut the one before off', async () => {
    const sandbox = testSandbox();
    const first = await loadInto(sandbox);
    valueOf(sandbox.execute(first, 'note', 1));
    sandbox.destroy(first);
    const second = await loadInto(sandbox);
    valueOf(sandbox.execute(second, 'note', 2));
    expect(made.count).toBe(1);
    const [before, after] = notes;
    expect(before?.context).not.toBe(after?.context);
    expect(before?.context.instanceId).toBe(first.id);
    expect(after?.context.instanceId).toBe(second.id);
    // The first tenant's view of the memory no longer reaches it; the second's does.
    expect(() => before?.context.memory?.read(8, 3)).toThrow(/memory is gone/);
    expect(after?.context.memory?.read(8, 3)).toEqual(new TextEncoder().encode('abc'));
  });

  it('are not shared by loads whose host functions differ', async () => {
    const sandbox = testSandbox();
    sandbox.destroy(await loadInto(sandbox));
    const other = defineHostFunction({
      name: 'note',
      params: ['i32'],
      results: [],
      handler: (value: number, context: HostCallContext) => void notes.push({ context, value: -value }),
    });
    const instance = await loadInto(sandbox, { hostFunctions: { note: other } });
    valueOf(sandbox.execute(instance, 'note', 3));
    expect(made.count).toBe(2);
    expect(notes.map((n) => n.value)).toEqual([-3]);
    // The same handler under a config of its own (a copy of the host function) is the same binding.
    sandbox.destroy(instance);
    await loadInto(sandbox, { hostFunctions: { note: { ...other } } });
    expect(made.count).toBe(2);
  });

  it('are not kept once they cannot be put back as new: grown memory, a dropped segment', async () => {
    for (const change of ['grow', 'drop']) {
      const sandbox = testSandbox();
      const instance = await loadInto(sandbox);
      valueOf(sandbox.execute(instance, change));
      sandbox.destroy(instance);
      const next = await loadInto(sandbox);
      expect(made.count, change).toBe(2);
      expect(valueOf(sandbox.execute(next, 'grow'))).toBe(1);
      made.count = 0;
    }
  });

  it('are not kept for a factory made with reuseMemories: false, nor from a guest destroyed while it runs', async () => {
    const sandbox = testSandbox({ reuseMemories: false });
    sandbox.destroy(await loadInto(sandbox));
    await loadInto(sandbox);
    expect(made.count).toBe(2);

    made.count = 0;
    const other = testSandbox();
    const destroying = defineHostFunction({
      name: 'note',
      params: ['i32'],
      results: [],
      handler: (_value: number, context: HostCallContext) => {
        notes.push({ context, value: 0 });
        other.destroy(running);
      },
    });
    const running = await loadInto(other, { hostFunctions: { note: destroying } });
    expect(errorOf(other.execute(running, 'note', 1)).code).toBe('INSTANCE_DESTROYED');
    await loadInto(other, { hostFunctions: { note: destroying } });
    expect(made.count).toBe(2);
  });

  it('are not kept for an instance with WASI, whose state is not only the instance', async () => {
    const sandbox = testSandbox();
    sandbox.destroy(await loadInto(sandbox, { wasi: {} }));
    await loadInto(sandbox, { wasi: {} });
    await loadInto(sandbox);
    expect(made.count).toBe(3);
  });

  it('are not kept from an instance a restore rebuilt, which shares its bindings with the new one', async () => {
    const sandbox = testSandbox();
    const grown = await loadInto(sandbox);
    valueOf(sandbox.execute(grown, 'growTable'));
    const saved = sandbox.snapshot(grown);
    if (!saved.ok) throw new Error(saved.error.message);
    // Another instance of the module, as new: the snapshot's table is larger than its own, so the
    // restore rebuilds it, and the instance it replaces could otherwise be put back as new.
    const instance = await loadInto(sandbox);
    expect(sandbox.restore(instance, saved.value).ok).toBe(true);
    expect(made.count).toBe(3);
    // Had the replaced instance been kept, this load would take it, and the host functions of the
    // restored instance (the same closures) would then see this load's context.
    const other = await loadInto(sandbox);
    expect(made.count).toBe(4);
    valueOf(sandbox.execute(instance, 'note', 1));
    valueOf(sandbox.execute(other, 'note', 2));
    expect(notes.map((n) => n.context.instanceId)).toEqual([instance.id, other.id]);
  });

  it(`are kept up to ${IDLE_PER_MODULE} per module`, async () => {
    const sandbox = testSandbox();
    const tenants = await Promise.all(Array.from({ length: IDLE_PER_MODULE + 2 }, () => loadInto(sandbox)));
    for (const tenant of tenants) sandbox.destroy(tenant);
    const before = made.count;
    for (let i = 0; i < IDLE_PER_MODULE + 2; i++) await loadInto(sandbox);
    expect(made.count - before).toBe(2);
  });

  it(`hold at most ${IDLE_BYTES_PER_PROCESS >> 20} MiB of memory in a process, the oldest let go of first`, async () => {
    const pages = Math.floor(IDLE_BYTES_PER_PROCESS / 65536 / 2) + 1;
    const large = wat(`(module (memory ${pages} ${pages}) (func (export "f")))`);
    const sandbox = testSandbox();
    const config = { maxMemoryBytes: IDLE_BYTES_PER_PROCESS };
    const tenants = [await loadInto(sandbox, config, large), await loadInto(sandbox, config, large)];
    const memories = countMemories();
    try {
      // The second kept makes the first go: its memory to the pool.
      for (const tenant of tenants) sandbox.destroy(tenant);
      const before = made.count;
      await loadInto(sandbox, config, large);
      await loadInto(sandbox, config, large);
      expect(made.count - before).toBe(1);
      expect(memories.count).toBe(0);
    } finally {
      memories.restore();
    }
  });

  it('give another factory the memory of an idle instance when the pool has none of its shape', async () => {
    const shape = (n: number) =>
      wat(`(module (memory 9 11) (func (export "f") (result i32) (i32.const ${n})))`);
    const one = testSandbox();
    const other = testSandbox();
    const first = await loadInto(one, {}, shape(0));
    valueOf(one.execute(first, 'f'));
    one.destroy(first);
    const memories = countMemories();
    try {
      const second = await loadInto(
        other,
        {},
        wat(`(module (memory 9 11) (data (i32.const 100) "z")
        (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))`),
      );
      expect(memories.count).toBe(0);
      expect([99, 100, 101].map((at) => valueOf(other.execute(second, 'peek', at)))).toEqual([0, 0x7a, 0]);
      // The instance whose memory it was is no longer kept: the next load of its module makes one.
      const before = made.count;
      await loadInto(one, {}, shape(0));
      expect(made.count - before).toBe(1);
    } finally {
      memories.restore();
    }
  });

  it('pass memories between factories through the pool, which lets each go after MEMORY_POOL_MAX_USES instances', async () => {
    // A factory per load, each leaving its instance idle: the next takes its memory.
    const bytes = wat(`(module (memory 10 11) (func (export "f")))`);
    const memories = countMemories();
    try {
      for (let i = 0; i < 3 * MEMORY_POOL_MAX_USES; i++) {
        const sandbox = testSandbox();
        sandbox.destroy(await loadInto(sandbox, {}, bytes));
      }
      // A new memory for the first load and then one every MEMORY_POOL_MAX_USES instances, not one per load
      // (V8 walks every instance a memory served when it grows, until a full collection).
      expect(memories.count).toBe(3);
    } finally {
      memories.restore();
    }
  });

  it('take the state their module starts in from where its data segments wrote, not from all its memory', async () => {
    // 16 MiB of memory, a byte of data: reading the rest (the zero-block kernel's scan) would fault in
    // every page of a memory the guest may never touch.
    const pages = IDLE_BYTES_PER_PROCESS / 65536;
    const sparse = wat(`(module (memory ${pages} ${pages}) (data (i32.const 70000) "s")
      (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (func (export "scramble") (i32.store8 (i32.const 70000) (i32.const 0)) (i32.store8 (i32.const 9000000) (i32.const 1))))`);
    const sandbox = testSandbox();
    const config = { maxMemoryBytes: IDLE_BYTES_PER_PROCESS };
    const read = (instance: SandboxInstance) =>
      [70000, 9000000].map((at) => valueOf(sandbox.execute(instance, 'load', at)));
    let scans = 0;
    const counting = WebAssembly.Instance;
    WebAssembly.Instance = new Proxy(counting, {
      construct(target, args: [WebAssembly.Module, WebAssembly.Imports | undefined]) {
        if (WebAssembly.Module.exports(args[0]).some((e) => e.name === 'next')) scans++;
        return new target(...args);
      },
    });
    const first = await loadInto(sandbox, config, sparse);
    WebAssembly.Instance = counting;
    expect(scans).toBe(0);
    valueOf(sandbox.execute(first, 'scramble'));
    const scrambled = valueOfResult(sandbox.snapshot(first));
    sandbox.destroy(first);
    // The instance served again, as a new one; a state restored into it at once replaces its data.
    const second = await loadInto(sandbox, config, sparse);
    expect(made.count).toBe(1);
    expect(sandbox.restore(second, scrambled).ok).toBe(true);
    expect(read(second)).toEqual([0, 1]);
    sandbox.destroy(second);
    expect(read(await loadInto(sandbox, config, sparse))).toEqual([115, 0]);
    expect(made.count).toBe(1);
  });

  it('are not kept for a module whose memory is over the budget', async () => {
    const pages = IDLE_BYTES_PER_PROCESS / 65536 + 1;
    const large = wat(`(module (memory ${pages} ${pages}) (func (export "f")))`);
    const sandbox = testSandbox();
    const config = { maxMemoryBytes: 2 * IDLE_BYTES_PER_PROCESS };
    sandbox.destroy(await loadInto(sandbox, config, large));
    await loadInto(sandbox, config, large);
    expect(made.count).toBe(2);
  });

  it('are not kept for a module that starts with more than IDLE_INITIAL_BYTES in memory', async () => {
    // A byte in every 4 KiB block (what a snapshot keeps of memory), to just past the limit; and to it.
    const pages = IDLE_INITIAL_BYTES / 65536 + 1;
    const withBlocks = (blocks: number) =>
      wat(
        `(module (memory ${pages} ${pages}) ${Array.from({ length: blocks }, (_, b) => `(data (i32.const ${b * 4096}) "x")`).join(' ')})`,
      );
    for (const [blocks, made_] of [
      [IDLE_INITIAL_BYTES / 4096, 1],
      [IDLE_INITIAL_BYTES / 4096 + 1, 2],
    ] as const) {
      const sandbox = testSandbox();
      const bytes = withBlocks(blocks);
      made.count = 0;
      sandbox.destroy(await loadInto(sandbox, {}, bytes));
      await loadInto(sandbox, {}, bytes);
      expect(made.count, `${blocks} blocks`).toBe(made_);
    }
  });

  it("let go of a module's idle instances with the module, their memories to the pool", async () => {
    // A memory shape of its own (3 pages, at most 5), and two modules of it.
    const shaped = (n: number) =>
      wat(`(module (memory 3 5) (func (export "f") (result i32) (i32.const ${n})))`);
    const sandbox = testSandbox();
    sandbox.destroy(await loadInto(sandbox, {}, shaped(0)));
    // The factory keeps 64 compiled modules: 64 others push the first out (and are not destroyed, so
    // that no instance of theirs takes its place in the process's idle instances).
    for (let n = 1; n <= 64; n++) await loadInto(sandbox, {}, wat(`(module (func (export "f${n}")))`));
    const memories = countMemories();
    try {
      const other = await loadInto(sandbox, {}, shaped(1));
      expect(memories.count).toBe(0);
      expect(valueOf(sandbox.execute(other, 'f'))).toBe(1);
    } finally {
      memories.restore();
    }
  });
});
