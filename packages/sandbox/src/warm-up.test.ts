import { fixture } from '@ri-sandbox/test-fixtures';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SCAN_MODULE } from '../../metering/src/scan-module';
import { errorOf } from '../test/helpers';
import { createWasmSandbox } from './sandbox';

const original = WebAssembly.Module;

afterEach(() => {
  WebAssembly.Module = original;
});

describe('a sandbox factory', () => {
  it("compiles the kernels (the snapshot package's, metering's scan) before any guest, once per thread", async () => {
    const compiled: string[] = [];
    WebAssembly.Module = new Proxy(original, {
      construct(target, args: [Uint8Array], newTarget) {
        compiled.push(Buffer.from(args[0]).toString('base64'));
        return Reflect.construct(target, args, newTarget) as object;
      },
    });
    const sandbox = createWasmSandbox();
    // The checksum's kernel, the zero-block scan's and the byte comparison's (modules of at most 2 KB),
    // then metering's scan.
    expect(compiled).toHaveLength(4);
    const kernels = new Set(compiled);
    expect(compiled.slice(0, 3).every((base64) => base64.length < 4096)).toBe(true);
    expect(compiled[3]).toBe(SCAN_MODULE);
    createWasmSandbox();
    expect(compiled).toHaveLength(4);
    const instance = sandbox.create({ maxMemoryBytes: 4 << 20 });
    if (!instance.ok) throw new Error(instance.error.message);
    expect((await sandbox.load(instance.value, fixture('sort'))).ok).toBe(true);
    expect(sandbox.snapshot(instance.value).ok).toBe(true);
    // A memory large enough for the zero-block kernel: its instance comes from the module compiled before.
    expect((await sandbox.load(instance.value, fixture('memory-hog'))).ok).toBe(true);
    expect(sandbox.execute(instance.value, 'grow', 31).ok).toBe(true);
    expect(sandbox.snapshot(instance.value).ok).toBe(true);
    // A cached load compares the module with the kept copy, through the kernel compiled before.
    expect((await sandbox.load(instance.value, fixture('sort'))).ok).toBe(true);
    expect(compiled.length).toBeGreaterThan(4);
    expect(compiled.slice(4).some((base64) => kernels.has(base64))).toBe(false);
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
