import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIG,
  type SandboxConfigInput,
  type SandboxInstance,
  type SuspendingSandbox,
} from '@ri-sandbox/core';
import { resolveCostModel } from '@ri-sandbox/metering';
import { type StateLayout, xxh3 } from '@ri-sandbox/snapshot';
import { type FixtureName, fixture } from '@ri-sandbox/test-fixtures';
import { errorOf, hostFunctions, testSandbox, valueOf } from '../test/helpers';
import { transformForLoad } from './bench/transforms';
import type { SandboxOptions } from './options';
import {
  type PreparedModuleStore,
  type PreparedSettings,
  decodePrepared,
  encodePrepared,
  preparedKey,
} from './prepared';
import { sha256 } from './text';

/** A store in a map, which records what it is asked. */
class MapStore implements PreparedModuleStore {
  readonly entries = new Map<string, Uint8Array>();
  readonly gets: string[] = [];
  readonly sets: string[] = [];

  get(key: string): Uint8Array | undefined {
    this.gets.push(key);
    return this.entries.get(key);
  }

  set(key: string, artifact: Uint8Array): void {
    this.sets.push(key);
    this.entries.set(key, artifact);
  }

  /** The only artifact kept (fails the test if there is not exactly one). */
  kept(): [string, Uint8Array] {
    expect(this.entries.size).toBe(1);
    return [...this.entries][0] as [string, Uint8Array];
  }
}

const LAYOUT: StateLayout = {
  globals: [{ index: 0, type: 'i64', access: { kind: 'global', exportName: '__ri_state_g0' } }],
  memory: 'memory',
  tables: [],
  functions: [],
  dropFlags: [],
  redrop: undefined,
  start: undefined,
};

const KEY = new Uint8Array(32).map((_, i) => i * 7);

async function loadInto(
  sandbox: SuspendingSandbox,
  name: FixtureName,
  config: SandboxConfigInput = {},
): Promise<SandboxInstance> {
  const created = sandbox.create(config);
  if (!created.ok) throw new Error(created.error.message);
  const result = await sandbox.load(created.value, fixture(name));
  if (!result.ok) throw new Error(result.error.message);
  return created.value;
}

/** Result and gas of `fib(n)` for each `n`, as an instance of the fibonacci fixture reports them. */
function fibRuns(sandbox: SuspendingSandbox, instance: SandboxInstance): unknown[] {
  return [5, 12, 20].map((n) => {
    const result = sandbox.execute(instance, 'fib', n);
    return result.ok ? [result.value, result.gasUsed] : result.error.code;
  });
}

/** The digest a store key spells in hex. */
function digestOf(key: string): Uint8Array {
  return Uint8Array.from(key.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** What {@link fibRuns} gives in a sandbox of `options` without a store. */
async function plainFibRuns(options: SandboxOptions = {}): Promise<unknown[]> {
  const sandbox = testSandbox(options);
  return fibRuns(sandbox, await loadInto(sandbox, 'fibonacci'));
}

/** The key a sandbox of `options` keeps `name` under, when an instance of `config` loads it. */
async function keyOf(name: FixtureName, config: SandboxConfigInput = {}, options: SandboxOptions = {}) {
  const store = new MapStore();
  await loadInto(testSandbox({ ...options, preparedModules: store }), name, config);
  return store.kept()[0];
}

describe('prepared module artifacts', () => {
  it('give back what was put in, under their own key only', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (bytes, key) => {
          const artifact = encodePrepared(key, { bytes: Uint8Array.from(bytes), layout: LAYOUT });
          expect(decodePrepared(artifact, key)).toEqual({ bytes: Uint8Array.from(bytes), layout: LAYOUT });
          const other = key.map((b, i) => (i === 31 ? b ^ 1 : b));
          expect(decodePrepared(artifact, other)).toBeUndefined();
        },
      ),
    );
  });

  it('give the module as a view of the artifact, or a copy when the artifact is in shared memory', async () => {
    const artifact = encodePrepared(KEY, { bytes: fixture('add'), layout: LAYOUT });
    const decoded = decodePrepared(artifact, KEY);
    expect(decoded?.bytes.buffer).toBe(artifact.buffer);
    const shared = new Uint8Array(new SharedArrayBuffer(artifact.length));
    shared.set(artifact);
    const copied = decodePrepared(shared, KEY);
    expect(copied?.bytes).toEqual(fixture('add'));
    expect(copied?.bytes.buffer).toBeInstanceOf(ArrayBuffer);
    // What every engine compiles (the JS API takes a `BufferSource`, which is not shared).
    expect(await WebAssembly.compile(copied?.bytes as Uint8Array<ArrayBuffer>)).toBeInstanceOf(
      WebAssembly.Module,
    );
  });

  it('refuse every truncation, every damaged byte and anything that is not one', () => {
    const artifact = encodePrepared(KEY, {
      bytes: fixture('add'),
      layout: LAYOUT,
    });
    expect(decodePrepared(artifact, KEY)).toBeDefined();
    for (let length = 0; length < artifact.length; length++)
      expect(decodePrepared(artifact.subarray(0, length), KEY)).toBeUndefined();
    for (let at = 0; at < artifact.length; at++) {
      const damaged = artifact.slice();
      damaged[at] = (damaged[at] as number) ^ 0x10;
      expect(decodePrepared(damaged, KEY)).toBeUndefined();
    }
    for (const thing of [undefined, null, 'artifact', [...artifact], artifact.buffer])
      expect(decodePrepared(thing, KEY)).toBeUndefined();
  });

  it('refuse another magic or format version, and a layout that is not an object, with a right checksum', () => {
    /** An artifact of three bytes with `edit` made to it and its checksum made right again. */
    const resealed = (edit: (artifact: Uint8Array) => void) => {
      const artifact = encodePrepared(KEY, { bytes: new Uint8Array(3), layout: LAYOUT });
      edit(artifact);
      const end = artifact.length - 8;
      new DataView(artifact.buffer).setBigUint64(end, xxh3(artifact.subarray(0, end)), true);
      return artifact;
    };
    expect(
      decodePrepared(
        resealed(() => undefined),
        KEY,
      ),
    ).toBeDefined();
    expect(
      decodePrepared(
        resealed((a) => (a[0] = 0x57)),
        KEY,
      ),
    ).toBeUndefined();
    // Format 1 (an XXH32 at the end), 2 (modules that define their memory) and 4 are not this library's.
    for (const version of [1, 2, 4]) {
      expect(
        decodePrepared(
          resealed((a) => (a[4] = version)),
          KEY,
        ),
      ).toBeUndefined();
    }
    // A layout length that runs past the module's length.
    expect(
      decodePrepared(
        resealed((a) => (a[40] = (a[40] as number) + 1)),
        KEY,
      ),
    ).toBeUndefined();
    const notObject = encodePrepared(KEY, { bytes: new Uint8Array(3), layout: 7 as never });
    expect(decodePrepared(notObject, KEY)).toBeUndefined();
    const notJson = encodePrepared(KEY, { bytes: new Uint8Array(3), layout: undefined as never });
    expect(decodePrepared(notJson, KEY)).toBeUndefined();
  });

  it('are keyed by the module and by every setting the transforms depend on, and nothing else', async () => {
    const base = await keyOf('fibonacci');
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    // Limits a load does not build into the module, and host functions, share the key.
    expect(await keyOf('fibonacci', { maxGas: 77, maxExecutionMs: 5000 })).toBe(base);
    expect(await keyOf('fibonacci', { hostFunctions: hostFunctions() })).toBe(base);
    const others = [
      await keyOf('add'),
      await keyOf('fibonacci', { maxMemoryBytes: 1 << 20 }),
      await keyOf('fibonacci', { maxCallDepth: 99 }),
      await keyOf('fibonacci', {}, { costs: { defaultCost: 2 } }),
      await keyOf('fibonacci', {}, { canonicalizeNaNs: false }),
      await keyOf('fibonacci', {}, { memoryGrowFailure: 'return-minus-one' }),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });
});

describe('a store of prepared modules', () => {
  it('is given what a load made, and a new sandbox then loads it from there, behaving the same', async () => {
    const store = new MapStore();
    const first = testSandbox({ preparedModules: store });
    const original = await loadInto(first, 'fibonacci');
    const [key, artifact] = store.kept();
    expect(store.gets).toEqual([key]);
    // Another factory (another process, say) finds it; a second load in one factory does not ask again.
    const second = testSandbox({ preparedModules: store });
    const reloaded = await loadInto(second, 'fibonacci');
    await loadInto(second, 'fibonacci');
    expect(store.gets).toEqual([key, key]);
    expect(store.sets).toEqual([key]);
    expect(store.entries.get(key)).toBe(artifact);
    expect(fibRuns(second, reloaded)).toEqual(fibRuns(first, original));
    expect(fibRuns(second, reloaded)).toEqual(await plainFibRuns());
  });

  it('is asked once, and given one artifact, by loads of one module at the same time', async () => {
    const store = new MapStore();
    const sandbox = testSandbox({ preparedModules: store });
    const instances = await Promise.all([1, 2, 3].map(() => loadInto(sandbox, 'fibonacci')));
    const [key] = store.kept();
    expect(store.gets).toEqual([key]);
    expect(store.sets).toEqual([key]);
    // And from the store, another factory's loads at the same time: asked once, nothing written.
    const again = testSandbox({ preparedModules: store });
    const reloaded = await Promise.all([1, 2, 3].map(() => loadInto(again, 'fibonacci')));
    expect(store.gets).toEqual([key, key]);
    expect(store.sets).toEqual([key]);
    expect(reloaded.map((instance) => fibRuns(again, instance))).toEqual(
      instances.map((instance) => fibRuns(sandbox, instance)),
    );
  });

  it('is given the bytes its load made even when another load writes its own while it compiles', async () => {
    // Loads without a store write the bytes they compile into one buffer, each over the last (as
    // `transformForLoad` does): a load with a store keeps its own, which it hands the store only once
    // compiled.
    const store = new MapStore();
    const { Module } = WebAssembly;
    let others = 0;
    WebAssembly.Module = new Proxy(Module, {
      construct(target, args: [BufferSource], newTarget) {
        const compiled = Reflect.construct(target, args, newTarget) as WebAssembly.Module;
        others++;
        if (!transformForLoad(fixture('counter')).ok) throw new Error('counter does not transform');
        return compiled;
      },
    });
    try {
      await loadInto(testSandbox({ preparedModules: store }), 'fibonacci');
    } finally {
      WebAssembly.Module = Module;
    }
    expect(others).toBeGreaterThan(0);
    const undisturbed = new MapStore();
    await loadInto(testSandbox({ preparedModules: undisturbed }), 'fibonacci');
    expect(store.kept()).toEqual(undisturbed.kept());
  });

  it('gives instances whose snapshots restore in instances made without it, and the reverse', async () => {
    const store = new MapStore();
    await loadInto(testSandbox({ preparedModules: store }), 'counter');
    const viaStore = testSandbox({ preparedModules: store });
    const plain = testSandbox();
    const a = await loadInto(viaStore, 'counter');
    const b = await loadInto(plain, 'counter');
    valueOf(viaStore.execute(a, 'add', 40));
    const fromStore = viaStore.snapshot(a);
    if (!fromStore.ok) throw new Error(fromStore.error.message);
    expect(plain.restore(b, fromStore.value).ok).toBe(true);
    expect(valueOf(plain.execute(b, 'increment'))).toBe(41);
    const fromPlain = plain.snapshot(b);
    if (!fromPlain.ok) throw new Error(fromPlain.error.message);
    expect(viaStore.restore(a, fromPlain.value).ok).toBe(true);
    expect(valueOf(viaStore.execute(a, 'get'))).toBe(41);
    expect(store.sets).toHaveLength(1);
  });

  it('is trusted: what it holds is compiled as it is, without transforming the module again', async () => {
    // An artifact made under a dearer cost model, filed under the default model's key, is run as it is.
    const dear = new MapStore();
    await loadInto(testSandbox({ costs: { defaultCost: 3 }, preparedModules: dear }), 'fibonacci');
    const [dearKey, dearArtifact] = dear.kept();
    const costs = resolveCostModel({ defaultCost: 3 });
    if (!costs.ok) throw new Error(costs.error.message);
    const settings: PreparedSettings = {
      maxMemoryBytes: DEFAULT_CONFIG.maxMemoryBytes,
      maxCallDepth: DEFAULT_CONFIG.maxCallDepth,
      costs: costs.value,
      canonicalizeNaNs: true,
      memoryGrowFailure: 'trap',
    };
    const dearDigest = await preparedKey(await sha256(fixture('fibonacci')), settings);
    const prepared = decodePrepared(dearArtifact, dearDigest);
    expect(prepared).toBeDefined();
    const cheap = new MapStore();
    await loadInto(testSandbox({ preparedModules: cheap }), 'fibonacci');
    const [cheapKey] = cheap.kept();
    expect(cheapKey).not.toBe(dearKey);
    const digest = digestOf(cheapKey);
    cheap.entries.set(cheapKey, encodePrepared(digest, prepared as never));
    const sandbox = testSandbox({ preparedModules: cheap });
    const dearGas = await plainFibRuns({ costs: { defaultCost: 3 } });
    expect(dearGas).not.toEqual(await plainFibRuns());
    expect(fibRuns(sandbox, await loadInto(sandbox, 'fibonacci'))).toEqual(dearGas);
  });

  it('ignores and replaces an artifact that is damaged, cut short, of another key, not bytes, or does not compile', async () => {
    const reference = new MapStore();
    await loadInto(testSandbox({ preparedModules: reference }), 'fibonacci');
    const [key, artifact] = reference.kept();
    const digest = digestOf(key);
    const damaged = artifact.slice();
    damaged[damaged.length >> 1] = (damaged[damaged.length >> 1] as number) ^ 0xff;
    const foreign = new MapStore();
    await loadInto(testSandbox({ preparedModules: foreign }), 'add');
    const broken = encodePrepared(digest, {
      bytes: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 99]),
      layout: LAYOUT,
    });
    const expected = await plainFibRuns();
    for (const bad of [damaged, artifact.subarray(0, 100), foreign.kept()[1], 'artifact', broken]) {
      const store = new MapStore();
      store.entries.set(key, bad as Uint8Array);
      const sandbox = testSandbox({ preparedModules: store });
      expect(fibRuns(sandbox, await loadInto(sandbox, 'fibonacci'))).toEqual(expected);
      expect(store.sets).toEqual([key]);
      expect(store.entries.get(key)).toEqual(artifact);
    }
  });

  it('never fails a load by throwing or rejecting', async () => {
    const fails = (how: 'throw' | 'reject'): (() => never) | (() => Promise<never>) =>
      how === 'throw'
        ? () => {
            throw new Error('disk full');
          }
        : () => Promise.reject(new Error('disk full'));
    const expected = await plainFibRuns();
    for (const how of ['throw', 'reject'] as const) {
      for (const store of [
        { get: fails(how), set: () => undefined },
        { get: () => undefined, set: fails(how) },
      ]) {
        const sandbox = testSandbox({ preparedModules: store });
        expect(fibRuns(sandbox, await loadInto(sandbox, 'fibonacci'))).toEqual(expected);
      }
    }
  });

  it('is given nothing for a module that fails to load', async () => {
    const store = new MapStore();
    const sandbox = testSandbox({ preparedModules: store });
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    expect(errorOf(await sandbox.load(created.value, new Uint8Array([1, 2, 3]))).code).toBe('INVALID_MODULE');
    expect(errorOf(await sandbox.load(created.value, fixture('host-caller'))).code).toBe('INVALID_MODULE');
    expect(store.sets).toEqual([]);
  });

  it('answers a module that fails its checks with the same error when it holds an artifact for it', async () => {
    // host-caller needs host functions: with them it loads (and is stored), without them it is refused.
    const store = new MapStore();
    const withHost = testSandbox({ preparedModules: store });
    await loadInto(withHost, 'host-caller', { hostFunctions: hostFunctions() });
    expect(store.sets).toHaveLength(1);
    const without = testSandbox({ preparedModules: store });
    const created = without.create();
    if (!created.ok) throw new Error();
    expect(errorOf(await without.load(created.value, fixture('host-caller'))).message).toMatch(
      /not provided/,
    );
  });
});
