import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type HostFunction,
  type WasmModule,
  decodeModule,
  defineHostFunction,
  encodeModule,
  ok,
  pagesForBytes,
} from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { type LoaderOptions, compileModule, prepareModule } from './compile';
import { instantiateModule, instantiateModuleSync } from './instantiate';
import { MEMORY_IMPORT } from './memory';
import { MemoryPool } from './memory-pool';

const MiB = 1024 * 1024;
const hostAdd = defineHostFunction({
  name: 'host_add',
  params: ['i32', 'i32'],
  results: ['i32'],
  handler: (a, b) => a + b,
});
const hostLog = defineHostFunction({
  name: 'host_log',
  params: ['i32', 'i32'],
  results: [],
  handler: () => undefined,
});
const hostI64 = defineHostFunction({
  name: 'host_i64',
  params: ['i64'],
  results: ['i64'],
  handler: (x) => x,
});
const hostFunctions: Record<string, HostFunction> = {
  host_add: hostAdd,
  host_log: hostLog,
  host_i64: hostI64,
};

/** The add fixture with its `i32.add` made `i64.add`: structurally fine, but ill-typed. */
function illTypedAdd(): Uint8Array<ArrayBuffer> {
  const bytes = fixture('add');
  bytes[bytes.findIndex((b, i) => b === 0x6a && bytes[i + 1] === 0x0b)] = 0x7c;
  return bytes;
}

async function reasonOf(
  bytes: Uint8Array | ArrayBuffer,
  options: LoaderOptions = { maxMemoryBytes: MiB },
): Promise<string> {
  const result = await compileModule(bytes, options);
  if (result.ok) throw new Error('expected the module to be rejected');
  expect(result.error.code).toBe('INVALID_MODULE');
  return result.error.code === 'INVALID_MODULE' ? result.error.reason : '';
}

describe('compileModule rejects what it cannot run with INVALID_MODULE', () => {
  it.each([
    ['empty input', new Uint8Array(), /empty input/],
    ['text instead of WebAssembly', new TextEncoder().encode('(module)'), /bad magic/],
    ['a truncated module', fixture('sort').subarray(0, 500), /remain|unexpected end/],
    ['a wrong version', new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), /version/],
  ])('%s', async (_label, bytes, reason) => {
    expect(await reasonOf(bytes)).toMatch(reason);
  });

  it('a corrupted function body, caught by validation', async () => {
    const bytes = illTypedAdd();
    expect(await reasonOf(bytes)).toMatch(/fails validation/);
    expect(await reasonOf(bytes, { maxMemoryBytes: MiB, copyInput: false })).toMatch(/fails validation: /);
  });

  it('input that is not bytes, or bytes that cannot be read', async () => {
    expect(await reasonOf('hello' as never)).toMatch(
      /expected the module as a Uint8Array or ArrayBuffer \(not a proxy of one, nor detached\), got string/,
    );
    expect(await reasonOf(null as never)).toMatch(/got null/);
    const trap = (): never => {
      throw new Error('trap');
    };
    expect(await reasonOf(new Proxy(fixture('add'), { get: trap }) as never)).toMatch(/got object/);
    const detached = fixture('add').slice().buffer;
    structuredClone(detached, { transfer: [detached] });
    expect(await reasonOf(detached as never)).toMatch(/got object/);
  });

  it('accepts an ArrayBuffer and copies the input', async () => {
    const bytes = fixture('add');
    const pending = compileModule(bytes.buffer, { maxMemoryBytes: MiB });
    bytes.fill(0);
    expect((await pending).ok).toBe(true);
  });

  it('reads the input where it is with copyInput: false', async () => {
    const bytes = fixture('add');
    const slice = vi.spyOn(Uint8Array.prototype, 'slice');
    const prepared = prepareModule(bytes, { maxMemoryBytes: MiB, copyInput: false });
    const fromBuffer = prepareModule(fixture('add').buffer, { maxMemoryBytes: MiB, copyInput: false });
    const sliceBuffer = vi.spyOn(ArrayBuffer.prototype, 'slice');
    expect(prepareModule(bytes.buffer, { maxMemoryBytes: MiB, copyInput: false }).ok).toBe(true);
    expect(slice).not.toHaveBeenCalled();
    expect(sliceBuffer).not.toHaveBeenCalled();
    slice.mockRestore();
    sliceBuffer.mockRestore();
    // Nothing changed the module: the bytes to compile are the input itself.
    expect(prepared.ok && prepared.value.bytes).toBe(bytes);
    expect(fromBuffer.ok).toBe(true);
    // Bytes in shared memory are copied all the same (a module compiles from an ArrayBuffer).
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    const fromShared = prepareModule(shared, { maxMemoryBytes: MiB, copyInput: false });
    expect(fromShared.ok && fromShared.value.bytes.buffer instanceof ArrayBuffer).toBe(true);
    expect(await reasonOf('nope' as never, { maxMemoryBytes: MiB, copyInput: false })).toMatch(/got string/);
  });

  it('an import that is not provided, listing what is expected and what is provided', async () => {
    const reason = await reasonOf(fixture('host-caller'), {
      maxMemoryBytes: MiB,
      hostFunctions: { host_add: hostAdd },
    });
    expect(reason).toContain('env.host_log (function (i32, i32) -> ())');
    expect(reason).toContain('env.host_i64 (function (i64) -> i64)');
    expect(reason).toContain('provided: env.memory (memory), env.host_add (function (i32, i32) -> i32)');
  });

  it('WASI and other foreign imports, globals and tables', async () => {
    const bytes = wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (import "env" "g" (global i32))
      (import "env" "t" (table 1 funcref)))`);
    const reason = await reasonOf(bytes);
    expect(reason).toContain('wasi_snapshot_preview1.fd_write (function (i32, i32, i32, i32) -> i32)');
    expect(reason).toContain('env.g (global)');
    expect(reason).toContain('env.t (table)');
    expect(reason).toMatch(/are not provided/);
  });

  it('a host function imported with another signature', async () => {
    const bytes = wat(`(module (import "env" "host_add" (func (param i64) (result i32))))`);
    expect(await reasonOf(bytes, { maxMemoryBytes: MiB, hostFunctions })).toBe(
      'env.host_add is imported as (i64) -> i32 but is provided as (i32, i32) -> i32',
    );
  });

  it('shared memories', async () => {
    const bytes = wat(`(module (memory 1 1 shared))`, { validate: false });
    expect(await reasonOf(bytes)).toMatch(/shared memories/);
  });
});

describe('compileModule compiles', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('at once, where the engine allows it', async () => {
    const later = vi.spyOn(WebAssembly, 'compile');
    const compiled = await compileModule(fixture('add'), { maxMemoryBytes: MiB });
    expect(compiled.ok && compiled.value.module).toBeInstanceOf(WebAssembly.Module);
    expect(later).not.toHaveBeenCalled();
  });

  it('asynchronously where a synchronous compile is refused (a browser main thread, above its size)', async () => {
    const refused = vi.spyOn(WebAssembly, 'Module').mockImplementation(() => {
      throw new RangeError(
        'WebAssembly.Compile is disallowed on the main thread, if the buffer size is larger than 4KB',
      );
    });
    const later = vi.spyOn(WebAssembly, 'compile');
    const compiled = await compileModule(fixture('add'), { maxMemoryBytes: MiB });
    expect(refused).toHaveBeenCalled();
    expect(later).toHaveBeenCalledTimes(1);
    expect(compiled.ok).toBe(true);
  });
});

describe('memory bounds', () => {
  it('rounds the limit up to whole pages', () => {
    expect(pagesForBytes(64 * 1024)).toBe(1);
    expect(pagesForBytes(65 * 1024)).toBe(2);
    expect(pagesForBytes(MiB)).toBe(16);
  });

  it.each([
    [64 * 1024, 1],
    [65 * 1024, 2],
    [MiB, 16],
  ])('clamps a defined memory without maximum to %i bytes = %i pages', async (maxMemoryBytes, pages) => {
    const compiled = await compileModule(fixture('memory-hog'), { maxMemoryBytes });
    if (!compiled.ok) throw new Error(compiled.error.message);
    expect(compiled.value.info.memory).toEqual({ source: 'defined', initialPages: 1, maximumPages: pages });
    const live = await instantiateModule(compiled.value, {}, maxMemoryBytes);
    if (!live.ok) throw new Error(live.error.message);
    const hog = live.value.instance.exports['hog'] as () => number;
    expect(hog()).toBe(pages);
    expect(live.value.memory?.buffer.byteLength).toBe(pages * 65536);
  });

  it('keeps a declared maximum below the limit', async () => {
    const compiled = await compileModule(wat('(module (memory (export "m") 1 3))'), { maxMemoryBytes: MiB });
    expect(compiled.ok && compiled.value.info.memory).toEqual({
      source: 'defined',
      initialPages: 1,
      maximumPages: 3,
    });
  });

  it.each([
    ['a maximum below the minimum', '2 1'],
    ['a maximum above 4 GiB', '1 65537'],
  ])('refuses memory limits with %s, which the bound would otherwise make valid', async (_what, limits) => {
    // Encoded by hand: wat2wasm refuses such limits. A defined memory of `limits` and nothing else.
    const [min, max] = limits.split(' ').map(Number) as [number, number];
    const leb = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...leb(n >>> 7)]);
    const section = [0x01, 0x01, ...leb(min), ...leb(max)];
    const bytes = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x05, section.length, ...section]);
    expect(WebAssembly.validate(bytes)).toBe(false);
    const options = { maxMemoryBytes: MiB, validateInput: false, transform: (m: WasmModule) => ok(m) };
    expect(await reasonOf(bytes, options)).toMatch(/^invalid memory limits: /);
  });

  it('refuses a defined memory that starts above the limit', async () => {
    const result = await compileModule(wat('(module (memory 20))'), { maxMemoryBytes: MiB });
    expect(result.ok || result.error).toMatchObject({
      code: 'MEMORY_EXCEEDED',
      memoryUsed: 20 * 65536,
      memoryLimit: MiB,
    });
  });

  it("bounds an imported env.memory by the limit and the import's own maximum", async () => {
    const compiled = await compileModule(fixture('imported-memory'), { maxMemoryBytes: 2 * 65536 });
    if (!compiled.ok) throw new Error(compiled.error.message);
    expect(compiled.value.info.memory).toEqual({ source: 'imported', initialPages: 1, maximumPages: 2 });
    const live = await instantiateModule(compiled.value, {}, 2 * 65536);
    if (!live.ok) throw new Error(live.error.message);
    const grow = live.value.instance.exports['grow'] as (pages: number) => number;
    expect(grow(1)).toBe(1);
    expect(grow(1)).toBe(-1);
    const small = await compileModule(wat('(module (import "env" "memory" (memory 1 2)))'), {
      maxMemoryBytes: MiB,
    });
    expect(small.ok && small.value.info.memory.maximumPages).toBe(2);
  });

  it('refuses an imported memory that starts above the limit', async () => {
    const result = await compileModule(wat('(module (import "env" "memory" (memory 17)))'), {
      maxMemoryBytes: MiB,
    });
    expect(result.ok || result.error.code).toBe('MEMORY_EXCEEDED');
  });

  it('gives a defined memory from the host, with its data, not listing the import', async () => {
    const module = wat(`(module (memory (export "mem") 2) (data (i32.const 5) "hi")
      (func (export "size") (result i32) (memory.size)))`);
    const prepared = prepareModule(module, { maxMemoryBytes: MiB });
    if (!prepared.ok) throw new Error(prepared.error.message);
    expect(prepared.value.info.imports).toEqual([]);
    expect(prepared.value.info.memory).toEqual({ source: 'defined', initialPages: 2, maximumPages: 16 });
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(prepared.value.bytes));
    expect(imports).toEqual([{ ...MEMORY_IMPORT, kind: 'memory' }]);
    const compiled = await compileModule(module, { maxMemoryBytes: MiB });
    if (!compiled.ok) throw new Error(compiled.error.message);
    const live = await instantiateModule(compiled.value, {}, MiB);
    if (!live.ok) throw new Error(live.error.message);
    const { instance, memory } = live.value;
    expect(instance.exports['mem']).toBe(memory);
    expect(new TextDecoder().decode(new Uint8Array(memory?.buffer ?? new ArrayBuffer(0), 5, 2))).toBe('hi');
    expect((instance.exports['size'] as () => number)()).toBe(2);
    expect(memory?.grow(14)).toBe(2);
    expect(() => memory?.grow(1)).toThrow(RangeError);
  });

  it('instantiates with a memory the pool keeps, zeroed, before its data is written', async () => {
    const module = wat(`(module (memory 1 4) (data (i32.const 0) "\\01\\02")
      (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))`);
    const compiled = await compileModule(module, { maxMemoryBytes: MiB });
    if (!compiled.ok) throw new Error(compiled.error.message);
    const pool = new MemoryPool();
    const kept = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    new Uint8Array(kept.buffer).fill(0xee);
    pool.give(kept, 4);
    const live = instantiateModuleSync(compiled.value, {}, MiB, {}, pool);
    if (!live.ok) throw new Error(live.error.message);
    expect(live.value.memory).toBe(kept);
    const peek = live.value.instance.exports['peek'] as (at: number) => number;
    expect([peek(0), peek(1), peek(2), peek(65535)]).toEqual([1, 2, 0, 0]);
    // Taken once: the next instance gets a memory of its own.
    const next = await instantiateModule(compiled.value, {}, MiB, {}, pool);
    expect(next.ok && next.value.memory).not.toBe(kept);
  });

  it('reports no memory for a module without one', async () => {
    const compiled = await compileModule(fixture('add'), { maxMemoryBytes: MiB });
    expect(compiled.ok && compiled.value.info.memory).toEqual({
      source: 'none',
      initialPages: 0,
      maximumPages: 0,
    });
    expect(compiled.ok && compiled.value.bytes).toEqual(fixture('add'));
  });
});

describe('instantiateModule', () => {
  it('links host functions and reports exports with their signatures', async () => {
    const compiled = await compileModule(fixture('host-caller'), { maxMemoryBytes: MiB, hostFunctions });
    if (!compiled.ok) throw new Error(compiled.error.message);
    expect(compiled.value.hostImports).toEqual(
      ['host_add', 'host_log', 'host_i64'].map((name) => ({ module: 'env', name })),
    );
    expect(compiled.value.functionExports.get('call_add')).toEqual({ params: [0x7f, 0x7f], results: [0x7f] });
    const live = await instantiateModule(
      compiled.value,
      { env: { host_add: (a: number, b: number) => a * b, host_log: () => 0, host_i64: (x: bigint) => x } },
      MiB,
    );
    if (!live.ok) throw new Error(live.error.message);
    expect((live.value.instance.exports['call_add'] as (a: number, b: number) => number)(6, 7)).toBe(42);
  });

  it('refuses to instantiate without every host function', async () => {
    const compiled = await compileModule(fixture('host-caller'), { maxMemoryBytes: MiB, hostFunctions });
    if (!compiled.ok) throw new Error(compiled.error.message);
    const live = await instantiateModule(compiled.value, { env: { host_add: () => 0 } }, MiB);
    expect(live.ok || live.error).toMatchObject({
      code: 'INVALID_MODULE',
      reason: 'no function given for the import env.host_log',
    });
  });

  describe.each([
    ['asynchronously', instantiateModule],
    [
      'synchronously',
      (...args: Parameters<typeof instantiateModuleSync>) => Promise.resolve(instantiateModuleSync(...args)),
    ],
  ])('%s', (_, instantiate) => {
    it('creates a bounded imported memory', async () => {
      const compiled = await compileModule(
        wat('(module (import "env" "memory" (memory 1)) (func (export "size") (result i32) memory.size))'),
        {
          maxMemoryBytes: 2 * 65536,
        },
      );
      if (!compiled.ok) throw new Error(compiled.error.message);
      const live = await instantiate(compiled.value, {}, 2 * 65536);
      if (!live.ok) throw new Error(live.error.message);
      expect(live.value.memory?.buffer.byteLength).toBe(65536);
      expect(() => live.value.memory?.grow(2)).toThrow(RangeError);
    });

    it('reports a trapping start function as WASM_TRAP', async () => {
      const compiled = await compileModule(wat('(module (func $s unreachable) (start $s))'), {
        maxMemoryBytes: MiB,
      });
      if (!compiled.ok) throw new Error(compiled.error.message);
      const live = await instantiate(compiled.value, {}, MiB);
      expect(live.ok || live.error).toMatchObject({ code: 'WASM_TRAP', trapKind: 'unreachable' });
    });

    it('reports a link failure as INVALID_MODULE', async () => {
      const compiled = await compileModule(wat('(module (import "env" "f" (func)))'), {
        maxMemoryBytes: MiB,
        hostFunctions: {
          f: defineHostFunction({ name: 'f', params: [], results: [], handler: () => undefined }),
        },
      });
      if (!compiled.ok) throw new Error(compiled.error.message);
      const live = await instantiate(compiled.value, { f: 42 as never }, MiB);
      expect(live.ok || live.error.code).toBe('INVALID_MODULE');
    });
  });
});

describe('transforms', () => {
  /** A transform whose output is invalid: it exports a function that does not exist. */
  const exportDangling = (module: WasmModule) =>
    ok({
      ...module,
      exports: [...module.exports, { name: 'dangling', kind: 'function' as const, index: 999 }],
    });

  it('apply to valid modules only, and their failures and broken output are reported', async () => {
    const { sandboxError, err } = await import('@ri-sandbox/core');
    const refuse = () => err(sandboxError.invalidModule('refused by the transform'));
    expect(await reasonOf(fixture('add'), { maxMemoryBytes: MiB, transform: refuse })).toBe(
      'refused by the transform',
    );
    expect(await reasonOf(fixture('add'), { maxMemoryBytes: MiB, transform: exportDangling })).toMatch(
      /^fails validation after transformation/,
    );
    const invalid = illTypedAdd();
    let called = false;
    const spy = (module: never) => {
      called = true;
      return ok(module);
    };
    expect(await reasonOf(invalid, { maxMemoryBytes: MiB, transform: spy } as never)).toMatch(
      /^fails validation: /,
    );
    expect(called).toBe(false);
  });

  it('without validateInput, reach an invalid input, which is refused for its own fault all the same', async () => {
    const invalid = illTypedAdd();
    let called = false;
    const spy = (module: WasmModule) => {
      called = true;
      return ok(module);
    };
    const options = { maxMemoryBytes: MiB, transform: spy, validateInput: false };
    const validated = await reasonOf(invalid, { maxMemoryBytes: MiB });
    expect(await reasonOf(invalid, options)).toBe(validated);
    expect(called).toBe(true);
    // The transform's own fault is still named as such.
    expect(await reasonOf(fixture('add'), { ...options, transform: exportDangling })).toMatch(
      /^fails validation after transformation/,
    );
  });

  it('write their rewrite into one buffer, each over the last, with transientOutput', async () => {
    const keep = (module: WasmModule) => ok(module);
    const options = { maxMemoryBytes: MiB, transform: keep, transientOutput: true };
    const fib = await compileModule(fixture('fibonacci'), options);
    if (!fib.ok) throw new Error(fib.error.message);
    const fibBytes = fib.value.bytes.slice();
    expect(fibBytes).toEqual(encodeModule(decodeModule(fixture('fibonacci'))));
    // Compiled from the buffer before the next load wrote over it.
    expect(WebAssembly.Module.exports(fib.value.module).map((e) => e.name)).toContain('fib');
    const counter = await compileModule(fixture('counter'), options);
    if (!counter.ok) throw new Error(counter.error.message);
    expect(counter.value.bytes.buffer).toBe(fib.value.bytes.buffer);
    expect(fib.value.bytes).not.toEqual(fibBytes);
    // Without it, each has its own.
    const owned = await compileModule(fixture('fibonacci'), { maxMemoryBytes: MiB, transform: keep });
    if (!owned.ok) throw new Error(owned.error.message);
    expect(owned.value.bytes).toEqual(fibBytes);
    expect(owned.value.bytes.buffer).not.toBe(counter.value.bytes.buffer);
  });

  it('are replaced by a rewrite given already, compiled as it is (the input is still checked)', async () => {
    const other = fixture('fibonacci');
    let called = false;
    const transform = (module: WasmModule) => {
      called = true;
      return ok(module);
    };
    const compiled = await compileModule(fixture('add'), {
      maxMemoryBytes: MiB,
      rewritten: other,
      transform,
    });
    if (!compiled.ok) throw new Error(compiled.error.message);
    expect(called).toBe(false);
    expect(compiled.value.bytes).toBe(other);
    // What was checked and described is the input; what was compiled is the rewrite.
    expect(compiled.value.info.exports.map((e) => e.name)).toContain('add');
    expect(WebAssembly.Module.exports(compiled.value.module).map((e) => e.name)).toContain('fib');
    const broken = new Uint8Array([0, 0x61, 0x73, 0x6d, 9, 0, 0, 0]);
    const refused = await compileModule(fixture('add'), { maxMemoryBytes: MiB, rewritten: broken });
    expect(refused.ok ? '' : refused.error.message).toMatch(/fails validation after transformation/);
  });

  it('given as a rewrite, compile before the input is checked, and a failed check wins', async () => {
    const order: string[] = [];
    const { Module, validate } = WebAssembly;
    WebAssembly.Module = new Proxy(Module, {
      construct(target, args: [BufferSource], newTarget) {
        order.push('compile');
        return Reflect.construct(target, args, newTarget) as object;
      },
    });
    const spy = vi.spyOn(WebAssembly, 'validate').mockImplementation((bytes) => {
      order.push('validate');
      return validate(bytes);
    });
    try {
      const compiled = await compileModule(fixture('add'), {
        maxMemoryBytes: MiB,
        rewritten: fixture('fibonacci'),
      });
      expect(compiled.ok).toBe(true);
      expect(order).toEqual(['compile', 'validate']);
    } finally {
      WebAssembly.Module = Module;
      spy.mockRestore();
    }
    // The input's failure is reported, not the rewrite's (whose rejection nobody awaits, and is not unhandled).
    const invalid = fixture('add');
    invalid[invalid.findIndex((b, i) => b === 0x6a && invalid[i + 1] === 0x0b)] = 0x7c;
    const broken = new Uint8Array([0, 0x61, 0x73, 0x6d, 9, 0, 0, 0]);
    expect(await reasonOf(invalid, { maxMemoryBytes: MiB, rewritten: broken })).toMatch(
      /^fails validation: /,
    );
    const unprovided = await compileModule(fixture('host-caller'), {
      maxMemoryBytes: MiB,
      rewritten: broken,
    });
    expect(unprovided.ok ? '' : unprovided.error.message).toMatch(/host_/);
  });
});
