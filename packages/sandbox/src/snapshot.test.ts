import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SandboxInstance, type SuspendingSandbox, defineHostFunction } from '@ri-sandbox/core';
import { decodeSnapshot, encodeSnapshot } from '@ri-sandbox/snapshot';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { errorOf, loaded, testSandbox, valueOf, valueOfResult } from '../test/helpers';
import { memorySnapshotOf } from './sandbox';
import { sha256Hex } from './text';

/** Result, gas and memory hash of each call, as the sandbox reports them. */
async function observe(
  sandbox: SuspendingSandbox,
  instance: SandboxInstance,
  calls: readonly (readonly [string, unknown])[],
): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (const [action, payload] of calls) {
    const result = sandbox.execute(instance, action, payload);
    seen.push([
      result.ok ? result.value : result.error.code,
      result.ok ? result.gasUsed : instance.metrics.gasUsed,
      await sha256Hex(memorySnapshotOf(instance)),
    ]);
  }
  return seen;
}

function snapshotOf(sandbox: SuspendingSandbox, instance: SandboxInstance): Uint8Array {
  return valueOfResult(sandbox.snapshot(instance));
}

const RANDOM_AND_TIME = wat(`
  (module
    (import "env" "__get_random" (func $random (result i32)))
    (import "env" "__get_time" (func $time (result f64)))
    (func (export "random") (result i32) (call $random))
    (func (export "time") (result f64) (call $time)))`);

describe('snapshot and restore', () => {
  it('10 actions, snapshot, 5 more, restore, the same 5: identical results, gas and memory (hidden global)', async () => {
    const { sandbox, instance } = await loaded('counter');
    await observe(
      sandbox,
      instance,
      Array.from({ length: 10 }, (_, i) => ['add', i] as const),
    );
    const snapshot = snapshotOf(sandbox, instance);
    const five = Array.from({ length: 5 }, (_, i) => ['add', i * 3] as const);
    const before = await observe(sandbox, instance, five);
    expect(sandbox.restore(instance, snapshot)).toEqual({ ok: true, value: undefined });
    expect(instance.status).toBe('loaded');
    expect(await observe(sandbox, instance, five)).toEqual(before);
    expect(before[0]).toEqual([45, expect.any(Number), expect.any(String)]);
  });

  it('are the same bytes whatever the clock made of the gas grants of the runs before', async () => {
    // A clock that stands still makes the meter grant ever larger chunks; one that races, small ones:
    // what is left of the last grant differs, and must not reach the snapshot.
    let raced = 0;
    const clocks = [() => 0, () => (raced += 5)];
    const snapshots = await Promise.all(
      clocks.map(async (now) => {
        const { sandbox, instance } = await loaded('fibonacci', { eventTimestamp: 0 }, testSandbox({ now }));
        expect(valueOf(sandbox.execute(instance, 'fib', 20))).toBe(6765n);
        return snapshotOf(sandbox, instance);
      }),
    );
    expect(snapshots[0]).toEqual(snapshots[1]);
  });

  it('does the same for clang output whose heap and __stack_pointer move', async () => {
    const { sandbox, instance } = await loaded('sort');
    const sorts = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => ['sort', { values: [from + i, 3, -1, from * i, 7] }] as const);
    await observe(sandbox, instance, sorts(10, 0));
    const snapshot = snapshotOf(sandbox, instance);
    const before = await observe(sandbox, instance, [...sorts(4, 100), ['sort_random', [200, 9]]]);
    expect(sandbox.restore(instance, snapshot).ok).toBe(true);
    expect(await observe(sandbox, instance, [...sorts(4, 100), ['sort_random', [200, 9]]])).toEqual(before);
    // The captured globals: __stack_pointer and the call-depth counter; metering's counters, which
    // hold nothing between runs, are not state.
    const decoded = decodeSnapshot(snapshot);
    expect(decoded.ok && decoded.value.globals.length).toBe(2);
  });

  it('continues the PRNG sequence and keeps the injected time, even in another instance', async () => {
    const sandbox = testSandbox();
    const first = sandbox.create({ deterministicSeed: 7, eventTimestamp: 1_700_000_000_000 });
    const second = sandbox.create({ deterministicSeed: 99, eventTimestamp: 5 });
    if (!first.ok || !second.ok) throw new Error('create failed');
    for (const created of [first.value, second.value])
      expect((await sandbox.load(created, RANDOM_AND_TIME)).ok).toBe(true);
    for (let i = 0; i < 3; i++) valueOf(sandbox.execute(first.value, 'random'));
    const snapshot = snapshotOf(sandbox, first.value);
    const next = Array.from({ length: 5 }, () => valueOf(sandbox.execute(first.value, 'random')));
    expect(sandbox.restore(second.value, snapshot).ok).toBe(true);
    expect(Array.from({ length: 5 }, () => valueOf(sandbox.execute(second.value, 'random')))).toEqual(next);
    expect(valueOf(sandbox.execute(second.value, 'time'))).toBe(1_700_000_000_000);
    expect(second.value.config.eventTimestamp).toBe(1_700_000_000_000);
  });

  it('restores a smaller memory into a grown one exactly, and the metrics follow', async () => {
    const { sandbox, instance } = await loaded('memory-hog', { maxMemoryBytes: 8 * 65536 });
    valueOf(sandbox.execute(instance, 'fill', 3));
    const snapshot = snapshotOf(sandbox, instance);
    const gas = instance.metrics.gasUsed;
    valueOf(sandbox.execute(instance, 'grow', 3));
    valueOf(sandbox.execute(instance, 'fill', 9));
    expect(instance.metrics.memoryUsedBytes).toBe(4 * 65536);
    expect(sandbox.restore(instance, snapshot).ok).toBe(true);
    expect(instance.metrics).toMatchObject({ memoryUsedBytes: 65536, gasUsed: gas });
    expect(valueOf(sandbox.execute(instance, 'pages'))).toBe(1);
    expect(valueOf(sandbox.execute(instance, 'load', 65535))).toBe(3);
    expect(valueOf(sandbox.execute(instance, 'grow', 7))).toBe(1);
  });

  it('rebuilds an instance whose memory is imported, into a new bounded memory', async () => {
    const { sandbox, instance } = await loaded('imported-memory', { maxMemoryBytes: 4 * 65536 });
    valueOf(sandbox.execute(instance, 'store', [100, 1234]));
    const snapshot = snapshotOf(sandbox, instance);
    valueOf(sandbox.execute(instance, 'grow', 2));
    valueOf(sandbox.execute(instance, 'store', [100, 99]));
    expect(sandbox.restore(instance, snapshot).ok).toBe(true);
    expect(valueOf(sandbox.execute(instance, 'pages'))).toBe(1);
    expect(valueOf(sandbox.execute(instance, 'load', 100))).toBe(1234);
    expect(valueOf(sandbox.execute(instance, 'grow', 3))).toBe(1);
    expect(errorOf(sandbox.execute(instance, 'grow', 1)).code).toBe('MEMORY_EXCEEDED');
  });

  it('never runs the start function again, in place or rebuilt', async () => {
    let starts = 0;
    const started = defineHostFunction({
      name: 'started',
      params: [],
      results: [],
      handler: () => {
        starts++;
      },
    });
    const sandbox = testSandbox({ memoryGrowFailure: 'return-minus-one' });
    const created = sandbox.create({ hostFunctions: { started } });
    if (!created.ok) throw new Error(created.error.message);
    const module = wat(`(module (import "env" "started" (func $started)) (memory 1 4)
      (func $init (call $started)) (start $init)
      (func (export "grow") (result i32) (memory.grow (i32.const 1))))`);
    expect((await sandbox.load(created.value, module)).ok).toBe(true);
    const snapshot = snapshotOf(sandbox, created.value);
    expect(sandbox.restore(created.value, snapshot).ok).toBe(true);
    valueOf(sandbox.execute(created.value, 'grow'));
    expect(sandbox.restore(created.value, snapshot).ok).toBe(true);
    sandbox.suspend(created.value);
    sandbox.resume(created.value);
    expect(starts).toBe(1);
  });

  it('stores a fresh 16 MiB memory in a few hundred bytes', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create({ maxMemoryBytes: 32 << 20 });
    if (!created.ok) throw new Error(created.error.message);
    expect((await sandbox.load(created.value, wat('(module (memory (export "m") 256))'))).ok).toBe(true);
    const snapshot = snapshotOf(sandbox, created.value);
    expect(snapshot.length).toBeLessThan(512);
    expect(sandbox.restore(created.value, snapshot).ok).toBe(true);
    expect(created.value.metrics.memoryUsedBytes).toBe(16 << 20);
  });

  it('clears what a data segment, a start function, a guest or a restore wrote, and only that, into a new load; snapshots read there', async () => {
    // A restore into an instance nothing has run in since its load clears only where its data segments
    // wrote (the rest of a new memory is zeros, and writing zeros there would fault in every page); once
    // a start function, an action or a restore has run, where it wrote must be cleared too.
    const module = (start: boolean) =>
      wat(`(module (memory (export "m") 256 256) (data (i32.const 70000) "s")
        ${start ? '(func $init (i32.store8 (i32.const 9000000) (i32.const 1))) (start $init)' : ''}
        (func (export "put") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
        (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0))))`);
    const sandbox = testSandbox();
    const load = async (bytes: Uint8Array) => {
      const created = sandbox.create({ maxMemoryBytes: 16 << 20 });
      if (!created.ok) throw new Error(created.error.message);
      expect((await sandbox.load(created.value, bytes)).ok).toBe(true);
      return created.value;
    };
    const read = (instance: SandboxInstance) =>
      [70000, 9000000, 12000000].map((at) => valueOf(sandbox.execute(instance, 'get', at)));
    for (const start of [false, true]) {
      const bytes = module(start);
      // A state with the segment's bytes and the start function's byte cleared, and one written elsewhere.
      const source = await load(bytes);
      for (const [at, value] of [
        [70000, 0],
        [9000000, 0],
        [12000000, 7],
      ] as const)
        valueOf(sandbox.execute(source, 'put', [at, value]));
      const snapshot = snapshotOf(sandbox, source);
      const other = snapshotOf(sandbox, await load(bytes));
      const cleared = [0, 0, 7];
      const untouched = [115, start ? 1 : 0, 0];
      // Into a new load, and one restore over another's writes.
      const target = await load(bytes);
      expect(sandbox.restore(target, snapshot).ok).toBe(true);
      // A snapshot taken at once reads only where the restore wrote, and is the one restored.
      expect(snapshotOf(sandbox, target)).toEqual(snapshot);
      expect(sandbox.restore(target, other).ok).toBe(true);
      expect(read(target), `start: ${start}`).toEqual(untouched);
      expect(sandbox.restore(target, snapshot).ok).toBe(true);
      expect(read(target)).toEqual(cleared);
      // Over an action's writes.
      valueOf(sandbox.execute(target, 'put', [12000000, 9]));
      expect(sandbox.restore(target, other).ok).toBe(true);
      expect(read(target)).toEqual(untouched);
      // Into a new instance rebuilt from the module (a resume), whose data segment wrote; and over that.
      for (const then of [undefined, other]) {
        expect(sandbox.restore(target, snapshot).ok).toBe(true);
        expect(sandbox.suspend(target).ok).toBe(true);
        expect(sandbox.resume(target).ok).toBe(true);
        if (then !== undefined) expect(sandbox.restore(target, then).ok).toBe(true);
        expect(read(target)).toEqual(then === undefined ? cleared : untouched);
      }
    }
  });

  it('is allowed when loaded or suspended, refused while running, before a load and after destroy', async () => {
    const box: { sandbox?: SuspendingSandbox; instance?: SandboxInstance; during?: unknown } = {};
    const probe = defineHostFunction({
      name: 'probe',
      params: [],
      results: [],
      handler: () => {
        box.during = box.sandbox?.snapshot(box.instance as SandboxInstance);
      },
    });
    const sandbox = testSandbox();
    const created = sandbox.create({ hostFunctions: { probe } });
    if (!created.ok) throw new Error(created.error.message);
    Object.assign(box, { sandbox, instance: created.value });
    expect(errorOf(sandbox.snapshot(created.value))).toMatchObject({
      code: 'INVALID_STATE',
      status: 'created',
      message: `cannot snapshot instance ${created.value.id} while it is created: load a module first`,
    });
    expect(errorOf(sandbox.restore(created.value, new Uint8Array(8)))).toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringMatching(/load the module the snapshot was taken of first$/) as unknown,
    });
    await sandbox.load(
      created.value,
      wat('(module (import "env" "probe" (func $p)) (func (export "run") (call $p)))'),
    );
    valueOf(sandbox.execute(created.value, 'run'));
    expect(box.during).toMatchObject({ ok: false, error: { code: 'INVALID_STATE', status: 'running' } });
    sandbox.destroy(created.value);
    expect(errorOf(sandbox.snapshot(created.value)).code).toBe('INSTANCE_DESTROYED');
  });

  it.each([
    ['a small module, hashed when the first snapshot needs it', 0],
    ['a large one, hashed while it loads', 300 << 10],
  ])('binds the snapshot to the SHA-256 of the module: %s', async (_, padding) => {
    // A custom section (unnamed, its size in three LEB128 bytes) of `padding` zeros makes it as large as wanted.
    const add = fixture('add');
    const bytes = new Uint8Array(add.length + (padding === 0 ? 0 : 5 + padding));
    bytes.set(add);
    const size = padding + 1;
    if (padding > 0)
      bytes.set([0, 0x80 | (size & 0x7f), 0x80 | ((size >> 7) & 0x7f), size >> 14, 0], add.length);
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error(created.error.message);
    expect((await sandbox.load(created.value, bytes)).ok).toBe(true);
    const decoded = decodeSnapshot(snapshotOf(sandbox, created.value));
    if (!decoded.ok) throw new Error(decoded.error.message);
    expect(Buffer.from(decoded.value.binding.moduleHash).toString('hex')).toBe(await sha256Hex(bytes));
  });

  it('refuses snapshots of another module or configuration, and forged ones that do not fit', async () => {
    const { sandbox, instance } = await loaded('counter');
    const counter = snapshotOf(sandbox, instance);
    const other = await loaded('add', {}, sandbox);
    expect(errorOf(sandbox.restore(other.instance, counter)).message).toMatch(/of a different module/);
    // Bytes that cannot be read without an exception: refused as no snapshot at all.
    const unreadable = new Proxy(counter, {
      get: () => {
        throw new Error('trap');
      },
    });
    expect(errorOf(sandbox.restore(instance, unreadable)).code).toBe('SNAPSHOT_ERROR');
    const deeper = await loaded('counter', { maxCallDepth: 50 }, sandbox);
    expect(errorOf(sandbox.restore(deeper.instance, counter)).message).toMatch(/different configuration/);
    // The same cost model, its overrides written in another order: the same configuration.
    const written = (instructions: Record<string, number>) => testSandbox({ costs: { instructions } });
    const one = await loaded('counter', {}, written({ 'i32.add': 2, 'i32.mul': 3 }));
    const two = await loaded('counter', {}, written({ 'i32.mul': 3, 'i32.add': 2 }));
    expect(two.sandbox.restore(two.instance, snapshotOf(one.sandbox, one.instance)).ok).toBe(true);
    const otherCosts = await loaded('counter', {}, testSandbox({ costs: { defaultCost: 2 } }));
    expect(errorOf(otherCosts.sandbox.restore(otherCosts.instance, counter)).message).toMatch(
      /different configuration/,
    );

    const decoded = decodeSnapshot(counter);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const forge = (changes: object) => {
      const encoded = encodeSnapshot({ ...decoded.value, ...changes });
      if (!encoded.ok) throw new Error(encoded.error.message);
      return encoded.value;
    };
    expect(errorOf(sandbox.restore(instance, forge({ memory: { pages: 1, chunks: [] } }))).message).toMatch(
      /it has a memory, the module has none/,
    );
    const hog = await loaded('memory-hog', { maxMemoryBytes: 4 * 65536 }, sandbox);
    const hogSnapshot = decodeSnapshot(snapshotOf(sandbox, hog.instance));
    if (!hogSnapshot.ok) throw new Error(hogSnapshot.error.message);
    const tooBig = encodeSnapshot({ ...hogSnapshot.value, memory: { pages: 5, chunks: [] } });
    expect(
      errorOf(sandbox.restore(hog.instance, tooBig.ok ? tooBig.value : new Uint8Array())).message,
    ).toMatch(/memory of 5 pages is outside what this instance can take \(1 to 4 pages\)/);
    expect(errorOf(sandbox.restore(instance, forge({ globals: [] }))).message).toMatch(
      /does not fit this module/,
    );
    expect(errorOf(sandbox.restore(instance, forge({ host: new Uint8Array(3) }))).message).toMatch(
      /sandbox state/,
    );
    const host = decoded.value.host.slice();
    new DataView(host.buffer).setFloat64(25, -1, true);
    expect(errorOf(sandbox.restore(instance, forge({ host }))).message).toMatch(/impossible clock or gas/);
    expect(errorOf(sandbox.restore(instance, 'WSNP' as never)).message).toMatch(/a snapshot is a Uint8Array/);
  });

  it('rejects every damaged snapshot and leaves the instance exactly as it was', async () => {
    const { sandbox, instance } = await loaded('sort');
    await observe(sandbox, instance, [['sort', { values: [5, 4, 3] }]]);
    const good = snapshotOf(sandbox, instance);
    await observe(sandbox, instance, [['sort', { values: [9, 8, 7, 6] }]]);
    const current = snapshotOf(sandbox, instance);
    const memory = await sha256Hex(memorySnapshotOf(instance));
    const damage = fc.oneof(
      fc.record({ at: fc.nat(good.length - 1), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ truncateTo: fc.nat(good.length - 1) }),
    );
    fc.assert(
      fc.property(damage, (d) => {
        const damaged = 'truncateTo' in d ? good.slice(0, d.truncateTo) : good.slice();
        if ('at' in d) damaged[d.at] = (damaged[d.at] as number) ^ d.xor;
        expect(errorOf(sandbox.restore(instance, damaged)).code).toBe('SNAPSHOT_ERROR');
      }),
      { numRuns: 300 },
    );
    expect(snapshotOf(sandbox, instance)).toEqual(current);
    expect(await sha256Hex(memorySnapshotOf(instance))).toBe(memory);
    expect(instance.status).toBe('loaded');
    expect(sandbox.restore(instance, good).ok).toBe(true);
  });
});

describe("a snapshot written into a buffer of the caller's", () => {
  it('is the same bytes in the buffer when it fits, restores, and serves snapshot after snapshot', async () => {
    const { sandbox, instance } = await loaded('memory-hog');
    const into = new Uint8Array(new ArrayBuffer(70_000 + 16), 16);
    for (const byte of [7, 9]) {
      valueOf(sandbox.execute(instance, 'fill', byte));
      const alone = snapshotOf(sandbox, instance);
      into.fill(0xee);
      const taken = sandbox.snapshot(instance, { into });
      if (!taken.ok) throw new Error(taken.error.message);
      expect(taken.value.buffer).toBe(into.buffer);
      expect(taken.value.byteOffset).toBe(16);
      expect(taken.value).toEqual(alone);
      expect(into.subarray(alone.length).every((b) => b === 0xee)).toBe(true);
    }
    const memory = memorySnapshotOf(instance);
    const saved = valueOfResult(sandbox.snapshot(instance, { into }));
    valueOf(sandbox.execute(instance, 'fill', 3));
    expect(sandbox.restore(instance, saved).ok).toBe(true);
    expect(memorySnapshotOf(instance)).toEqual(memory);
  });

  it('takes a buffer of its own when the one given is too small, and copies a suspended one', async () => {
    const { sandbox, instance } = await loaded('counter');
    valueOf(sandbox.execute(instance, 'add', 5));
    const alone = snapshotOf(sandbox, instance);
    const small = new Uint8Array(alone.length - 1).fill(1);
    const taken = valueOfResult(sandbox.snapshot(instance, { into: small }));
    expect(taken.buffer).not.toBe(small.buffer);
    expect(taken).toEqual(alone);
    expect(small.every((b) => b === 1)).toBe(true);
    expect(sandbox.suspend(instance).ok).toBe(true);
    const into = new Uint8Array(alone.length);
    const parked = valueOfResult(sandbox.snapshot(instance, { into }));
    expect(parked.buffer).toBe(into.buffer);
    expect(parked).toEqual(alone);
    const again = valueOfResult(sandbox.snapshot(instance, { into: small }));
    expect(again).toEqual(alone);
    expect(again.buffer).not.toBe(small.buffer);
  });

  it('refuses options it cannot use, with INVALID_CONFIG, and changes nothing', async () => {
    const { sandbox, instance } = await loaded('counter');
    valueOf(sandbox.execute(instance, 'add', 5));
    const before = snapshotOf(sandbox, instance);
    const throwing = new Proxy(
      {},
      {
        get: () => {
          throw new Error('no');
        },
      },
    );
    for (const [options, field] of [
      [5, 'snapshot options'],
      [null, 'snapshot options'],
      [{ into: [1, 2, 3] }, 'into'],
      [{ into: new Uint16Array(8) }, 'into'],
      [throwing, 'into'],
      [
        {
          into: new Proxy(new Uint8Array(1 << 16), {
            get: () => {
              throw new Error('no');
            },
          }),
        },
        'into',
      ],
    ] as const)
      expect(errorOf(sandbox.snapshot(instance, options as never))).toMatchObject({
        code: 'INVALID_CONFIG',
        field,
      });
    expect(instance.status).toBe('loaded');
    expect(snapshotOf(sandbox, instance)).toEqual(before);
    expect(valueOfResult(sandbox.snapshot(instance, {}))).toEqual(before);
  });
});

describe('suspend and resume', () => {
  it('releases the instance, counts its memory as 0, and resumes exactly where it was', async () => {
    const { sandbox, instance } = await loaded('counter');
    await observe(sandbox, instance, [['add', 41]]);
    const live = snapshotOf(sandbox, instance);
    expect(sandbox.suspend(instance).ok).toBe(true);
    expect(sandbox.suspend(instance).ok).toBe(true);
    expect(instance.status).toBe('suspended');
    expect(sandbox.getMetrics(instance)).toMatchObject({ ok: true, value: { memoryUsedBytes: 0 } });
    expect(errorOf(sandbox.execute(instance, 'get'))).toMatchObject({
      code: 'INVALID_STATE',
      status: 'suspended',
    });
    expect(snapshotOf(sandbox, instance)).toEqual(live);
    expect(sandbox.resume(instance).ok).toBe(true);
    expect(instance.status).toBe('loaded');
    expect(valueOf(sandbox.execute(instance, 'increment'))).toBe(42);
    expect(errorOf(sandbox.resume(instance))).toMatchObject({ code: 'INVALID_STATE', status: 'loaded' });
  });

  it('can restore, load into or destroy a suspended instance, and not suspend an empty one', async () => {
    const { sandbox, instance } = await loaded('counter');
    const zero = snapshotOf(sandbox, instance);
    valueOf(sandbox.execute(instance, 'add', 5));
    sandbox.suspend(instance);
    expect(sandbox.restore(instance, zero).ok).toBe(true);
    expect(valueOf(sandbox.execute(instance, 'get'))).toBe(0);
    sandbox.suspend(instance);
    expect((await sandbox.load(instance, fixture('add'))).ok).toBe(true);
    expect(valueOf(sandbox.execute(instance, 'add', [2, 3]))).toBe(5);
    sandbox.suspend(instance);
    expect(sandbox.destroy(instance).ok).toBe(true);
    expect(errorOf(sandbox.resume(instance)).code).toBe('INSTANCE_DESTROYED');
    const empty = sandbox.create();
    if (!empty.ok) throw new Error(empty.error.message);
    expect(errorOf(sandbox.suspend(empty.value))).toMatchObject({ code: 'INVALID_STATE', status: 'created' });
  });

  it('holds thousands of suspended instances, each resumable', async () => {
    const sandbox = testSandbox();
    const instances: SandboxInstance[] = [];
    for (let i = 0; i < 1000; i++) {
      const created = sandbox.create();
      if (!created.ok) throw new Error(created.error.message);
      await sandbox.load(created.value, fixture('counter'));
      valueOf(sandbox.execute(created.value, 'add', i));
      expect(sandbox.suspend(created.value).ok).toBe(true);
      instances.push(created.value);
    }
    for (const [i, instance] of instances.entries()) {
      expect(sandbox.resume(instance).ok).toBe(true);
      expect(valueOf(sandbox.execute(instance, 'get'))).toBe(i);
      sandbox.destroy(instance);
    }
  }, 300_000);
});
