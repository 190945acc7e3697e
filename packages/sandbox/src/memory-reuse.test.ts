import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GuestMemory, type SandboxInstance, defineHostFunction } from '@ri-sandbox/core';
import { wat } from '../../core/test/wat';
import { errorOf, testSandbox, valueOf } from '../test/helpers';
import type { SandboxOptions } from './options';

/** The host's views of guest memory, as its function `seen` received them. */
let views: (GuestMemory | undefined)[] = [];
/** What `seen` does besides keeping the view (destroy its own instance, say). */
let alsoInSeen: () => void = () => undefined;
const seen = defineHostFunction({
  name: 'seen',
  params: [],
  results: [],
  handler: (context) => {
    views.push(context.memory);
    alsoInSeen();
  },
});

/**
 * The guest, with a memory of `pages` pages (up to 8): each test takes its own size, so that memories
 * other tests left in the process's pool are not of its shape.
 */
const guest = (pages: number) =>
  wat(`(module
  (import "env" "seen" (func $seen))
  (memory ${pages} 8)
  (data (i32.const 16) "ri")
  (func (export "fill") (param i32) (memory.fill (i32.const 0) (local.get 0) (i32.const 65536)))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "see") (call $seen)))`);

/** Counts the memories made with `new WebAssembly.Memory` while installed. */
const made = { count: 0 };
const OriginalMemory = WebAssembly.Memory;
beforeEach(() => {
  views = [];
  alsoInSeen = () => undefined;
  made.count = 0;
  WebAssembly.Memory = new Proxy(OriginalMemory, {
    construct(target, args: [WebAssembly.MemoryDescriptor]) {
      made.count++;
      return new target(...args);
    },
  });
});
afterEach(() => {
  WebAssembly.Memory = OriginalMemory;
});

/** A sandbox and a way to make an instance of it with the guest of `pages` pages loaded. */
function guestSandbox(pages: number, options?: SandboxOptions) {
  const sandbox = testSandbox(options);
  const bytes = guest(pages);
  const load = async (): Promise<SandboxInstance> => {
    const created = sandbox.create({ hostFunctions: { seen } });
    if (!created.ok) throw new Error(created.error.message);
    const loaded = await sandbox.load(created.value, bytes);
    if (!loaded.ok) throw new Error(loaded.error.message);
    return created.value;
  };
  return { sandbox, load, bytes };
}

describe('reused memories', () => {
  it("give a destroyed instance's memory to the next instance, zeroed, its data written", async () => {
    const { sandbox, load } = guestSandbox(1);
    const first = await load();
    valueOf(sandbox.execute(first, 'fill', 0xab));
    expect(valueOf(sandbox.execute(first, 'peek', 16))).toBe(0xab);
    sandbox.destroy(first);
    const before = made.count;
    const second = await load();
    expect(made.count).toBe(before);
    expect([0, 16, 17, 18, 65535].map((at) => valueOf(sandbox.execute(second, 'peek', at)))).toEqual([
      0, 0x72, 0x69, 0, 0,
    ]);
    expect(valueOf(sandbox.execute(second, 'grow', 0))).toBe(1);
  });

  it('give a reloaded instance the memory of the module replaced before, zeroed', async () => {
    const { sandbox, load, bytes } = guestSandbox(2);
    const instance = await load();
    // The module replaced keeps its memory until the new one is in: the first reload makes one.
    for (const fill of [7, 9]) {
      valueOf(sandbox.execute(instance, 'fill', fill));
      expect((await sandbox.load(instance, bytes)).ok).toBe(true);
    }
    const before = made.count;
    valueOf(sandbox.execute(instance, 'fill', 11));
    expect((await sandbox.load(instance, bytes)).ok).toBe(true);
    expect(made.count).toBe(before);
    expect(valueOf(sandbox.execute(instance, 'peek', 0))).toBe(0);
    expect(valueOf(sandbox.execute(instance, 'peek', 16))).toBe(0x72);
  });

  it('cut a host off from the memory of an instance it no longer is', async () => {
    const { sandbox, load } = guestSandbox(3);
    const instance = await load();
    valueOf(sandbox.execute(instance, 'see'));
    const [view] = views;
    expect(view?.byteLength).toBe(3 * 65536);
    expect(view?.read(16, 2)).toEqual(new Uint8Array([0x72, 0x69]));
    sandbox.destroy(instance);
    expect(view?.byteLength).toBe(0);
    expect(() => view?.read(16, 2)).toThrow(/memory is gone/);
    expect(() => view?.write(0, new Uint8Array([1]))).toThrow(RangeError);
    // The next instance, which has that memory now, is untouched.
    const before = made.count;
    const next = await load();
    expect(made.count).toBe(before);
    expect(valueOf(sandbox.execute(next, 'peek', 0))).toBe(0);
  });

  it('leave the memory of a guest destroyed while it runs to the collector', async () => {
    const { sandbox, load } = guestSandbox(4);
    const instance = await load();
    alsoInSeen = () => sandbox.destroy(instance);
    expect(errorOf(sandbox.execute(instance, 'see')).code).toBe('INSTANCE_DESTROYED');
    // Its view still reads its own memory; no other instance gets it.
    expect(views[0]?.byteLength).toBe(4 * 65536);
    const before = made.count;
    await load();
    expect(made.count).toBe(before + 1);
  });

  it('give back the memory a restore replaces, and cut the host off from it', async () => {
    const { sandbox, load } = guestSandbox(5);
    const instance = await load();
    const saved = sandbox.snapshot(instance);
    if (!saved.ok) throw new Error(saved.error.message);
    expect(valueOf(sandbox.execute(instance, 'grow', 1))).toBe(5);
    valueOf(sandbox.execute(instance, 'see'));
    // Six pages cannot shrink to five: the instance is rebuilt, with a new memory.
    const before = made.count;
    expect(sandbox.restore(instance, saved.value).ok).toBe(true);
    expect(made.count).toBe(before + 1);
    expect(views[0]?.byteLength).toBe(0);
    valueOf(sandbox.execute(instance, 'see'));
    expect(views[1]?.byteLength).toBe(5 * 65536);
    expect(valueOf(sandbox.execute(instance, 'peek', 16))).toBe(0x72);
    // The six-page memory went to the pool: a guest that starts with five is not given it.
    const other = await load();
    expect(made.count).toBe(before + 2);
    expect(valueOf(sandbox.execute(other, 'grow', 0))).toBe(5);
  });

  it("pass from one factory to another, zeroed: the pool is the process's", async () => {
    const one = guestSandbox(6);
    const other = guestSandbox(7);
    const first = await one.load();
    // Grown, the instance cannot be put back as it started (memories do not shrink): its factory does
    // not keep it for reuse, and its memory of seven pages goes to the pool.
    expect(valueOf(one.sandbox.execute(first, 'grow', 1))).toBe(6);
    valueOf(one.sandbox.execute(first, 'fill', 0x5a));
    one.sandbox.destroy(first);
    const before = made.count;
    const second = await other.load();
    expect(made.count).toBe(before);
    expect([0, 16, 65535].map((at) => valueOf(other.sandbox.execute(second, 'peek', at)))).toEqual([
      0, 0x72, 0,
    ]);
  });

  it('are neither given nor taken by a factory made with reuseMemories: false', async () => {
    const { sandbox, load } = guestSandbox(8, { reuseMemories: false });
    sandbox.destroy(await load());
    const before = made.count;
    await load();
    expect(made.count).toBe(before + 1);
  });
});
