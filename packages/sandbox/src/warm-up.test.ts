import { fixture } from '@ri-sandbox/test-fixtures';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errorOf } from '../test/helpers';
import { createWasmSandbox } from './sandbox';

const original = WebAssembly.Module;

afterEach(() => {
  WebAssembly.Module = original;
});

describe('a sandbox factory', () => {
  it("compiles the snapshot checksum's kernel before any guest, once per thread", async () => {
    const compiled: number[] = [];
    WebAssembly.Module = new Proxy(original, {
      construct(target, args: [BufferSource], newTarget) {
        compiled.push(args[0].byteLength);
        return Reflect.construct(target, args, newTarget) as object;
      },
    });
    const sandbox = createWasmSandbox();
    // The kernel: a module of about 2 KB (the guest below is larger, and compiles after it).
    expect(compiled).toEqual([expect.any(Number)]);
    expect(compiled[0]).toBeLessThan(4096);
    createWasmSandbox();
    const instance = sandbox.create();
    if (!instance.ok) throw new Error(instance.error.message);
    expect((await sandbox.load(instance.value, fixture('sort'))).ok).toBe(true);
    expect(sandbox.snapshot(instance.value).ok).toBe(true);
    expect(compiled.slice(1).every((size) => size > 4096)).toBe(true);
  });
});

describe('a sandbox factory where the engine refuses to compile', () => {
  it('is made all the same, and its loads say why they fail', async () => {
    vi.resetModules();
    WebAssembly.Module = new Proxy(original, {
      construct() {
        throw new WebAssembly.CompileError("refused by the page's Content-Security-Policy");
      },
    });
    const { createWasmSandbox: fresh } = await import('./sandbox');
    const sandbox = fresh();
    const instance = sandbox.create();
    if (!instance.ok) throw new Error(instance.error.message);
    const loaded = await sandbox.load(instance.value, fixture('add'));
    expect(errorOf(loaded).message).toMatch(/Content-Security-Policy/);
  });
});
