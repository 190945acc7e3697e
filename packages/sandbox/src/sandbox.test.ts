import { describe, expect, it } from 'vitest';
import { defineHostFunction } from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { errorOf, loaded, testSandbox, valueOf } from '../test/helpers';
import { canonicalArgs, createWasmSandbox } from './index';

describe('create', () => {
  it('numbers instances per factory and freezes their config', () => {
    const first = testSandbox();
    const second = testSandbox();
    const a = first.create();
    const b = first.create({ maxGas: 5 });
    const c = second.create();
    if (!a.ok || !b.ok || !c.ok) throw new Error('create failed');
    expect([a.value.id, b.value.id, c.value.id]).toEqual(['sandbox-0', 'sandbox-1', 'sandbox-0']);
    expect(a.value.status).toBe('created');
    expect(Object.isFrozen(a.value.config)).toBe(true);
    expect(b.value.config.maxGas).toBe(5);
    expect(() => {
      (a.value as { status: string }).status = 'loaded';
    }).toThrow(TypeError);
    expect(JSON.parse(JSON.stringify(a.value))).toMatchObject({ id: 'sandbox-0', status: 'created' });
  });

  it('takes eventTimestamp from the wall clock by default', () => {
    const sandbox = testSandbox({ wallClock: () => 1234.9 });
    const created = sandbox.create();
    expect(created.ok && created.value.config.eventTimestamp).toBe(1234);
  });

  it('rejects invalid config with INVALID_CONFIG and does not use up an id', () => {
    const sandbox = testSandbox();
    expect(errorOf(sandbox.create({ maxGas: -1 }))).toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'maxGas',
    });
    expect(errorOf(sandbox.create({ maxMemoryBytes: Number.NaN }))).toMatchObject({
      field: 'maxMemoryBytes',
    });
    expect(errorOf(sandbox.create({ maxGas: 0.5 }))).toMatchObject({ field: 'maxGas' });
    // A config whose reading throws (a getter, a proxy) is refused as well, not thrown at the caller.
    const unreadable = Object.defineProperty({}, 'maxGas', {
      enumerable: true,
      get: (): never => {
        throw new Error('not now');
      },
    });
    expect(errorOf(createWasmSandbox().create(unreadable))).toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'maxGas',
    });
    expect(sandbox.create().ok && 'ok').toBe('ok');
    const next = sandbox.create();
    expect(next.ok && next.value.id).toBe('sandbox-1');
  });

  it('reports initial metrics', () => {
    const created = testSandbox().create({ maxMemoryBytes: 65536, maxGas: 7, maxExecutionMs: 3 });
    expect(created.ok && created.value.metrics).toEqual({
      memoryUsedBytes: 0,
      memoryLimitBytes: 65536,
      gasUsed: 0,
      gasLimit: 7,
      executionMs: 0,
      executionLimitMs: 3,
    });
  });
});

/** `buffer`, detached (transferred away): its bytes can no longer be read. */
function detached(buffer: ArrayBuffer): ArrayBuffer {
  structuredClone(buffer, { transfer: [buffer] });
  return buffer;
}

describe('load', () => {
  it('loads a module and reports its imports, exports and memory', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create({ maxMemoryBytes: 1 << 20 });
    if (!created.ok) throw new Error();
    const info = await sandbox.load(created.value, fixture('memory-hog'));
    expect(info.ok && info.value).toEqual({
      imports: [],
      exports: [
        { name: 'memory', kind: 'memory' },
        { name: 'grow', kind: 'function' },
        { name: 'pages', kind: 'function' },
        { name: 'hog', kind: 'function' },
        { name: 'fill', kind: 'function' },
        { name: 'load', kind: 'function' },
      ],
      memory: { source: 'defined', initialPages: 1, maximumPages: 16 },
    });
    expect(created.value.status).toBe('loaded');
    expect(created.value.metrics.memoryUsedBytes).toBe(65536);
  });

  it('returns INVALID_MODULE for bad bytes and leaves the instance as it was', async () => {
    const { sandbox, instance } = await loaded('counter');
    valueOf(sandbox.execute(instance, 'add', 5));
    for (const bad of [
      new Uint8Array(),
      new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
      fixture('sort').subarray(0, 100),
      // Bytes that cannot be read without an exception: a proxy of a module, a detached buffer.
      new Proxy(fixture('counter'), {
        get: (): never => {
          throw new Error('trap');
        },
      }),
      detached(fixture('counter').slice().buffer),
    ]) {
      expect(errorOf(await sandbox.load(instance, bad)).code).toBe('INVALID_MODULE');
    }
    expect(errorOf(await sandbox.load(instance, fixture('host-caller'))).code).toBe('INVALID_MODULE');
    expect(instance.status).toBe('loaded');
    expect(valueOf(sandbox.execute(instance, 'get'))).toBe(5);
  });

  it('replaces the module on a second load, with fresh state', async () => {
    const { sandbox, instance } = await loaded('counter');
    valueOf(sandbox.execute(instance, 'add', 5));
    expect((await sandbox.load(instance, fixture('counter'))).ok).toBe(true);
    expect(valueOf(sandbox.execute(instance, 'get'))).toBe(0);
  });

  it('refuses a second load while one is in progress', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    const [first, second] = await Promise.all([
      sandbox.load(created.value, fixture('add')),
      sandbox.load(created.value, fixture('add')),
    ]);
    expect(first.ok).toBe(true);
    expect(errorOf(second)).toMatchObject({
      code: 'INVALID_STATE',
      operation: 'load',
      message: `cannot load instance ${created.value.id} while it is created: another load is in progress`,
    });
  });

  it('answers INSTANCE_DESTROYED when the instance is destroyed during the load', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    const pending = sandbox.load(created.value, fixture('add'));
    sandbox.destroy(created.value);
    expect(errorOf(await pending).code).toBe('INSTANCE_DESTROYED');
    expect(created.value.status).toBe('destroyed');
  });

  it('reports a start function that traps or whose host call fails', async () => {
    const sandbox = testSandbox();
    const trapping = sandbox.create();
    if (!trapping.ok) throw new Error();
    const trap = await sandbox.load(trapping.value, wat('(module (func $s unreachable) (start $s))'));
    expect(errorOf(trap)).toMatchObject({ code: 'WASM_TRAP', trapKind: 'unreachable' });
    expect(trapping.value.status).toBe('created');
    const boom = defineHostFunction({
      name: 'boom',
      params: [],
      results: [],
      handler: () => {
        throw new Error('no');
      },
    });
    const calling = sandbox.create({ hostFunctions: { boom } });
    if (!calling.ok) throw new Error();
    const failed = await sandbox.load(
      calling.value,
      wat('(module (import "env" "boom" (func $b)) (start $b))'),
    );
    expect(errorOf(failed)).toMatchObject({ code: 'HOST_FUNCTION_ERROR', functionName: 'boom' });
  });

  it('rejects a module whose memory starts above the limit with MEMORY_EXCEEDED', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create({ maxMemoryBytes: 65536 });
    if (!created.ok) throw new Error();
    expect(errorOf(await sandbox.load(created.value, wat('(module (memory 2))')))).toMatchObject({
      code: 'MEMORY_EXCEEDED',
      memoryUsed: 131072,
      memoryLimit: 65536,
    });
  });
});

describe('execute in direct mode', () => {
  it("passes numbers and bigints and returns the export's value", async () => {
    const { sandbox, instance } = await loaded('add');
    expect(valueOf(sandbox.execute(instance, 'add', [2, 3]))).toBe(5);
    expect(valueOf(sandbox.execute(instance, 'add', [0xffffffff, 1]))).toBe(0);
    expect(valueOf(sandbox.execute(instance, 'add_i64', [2n ** 62n, 2n ** 62n]))).toBe(-(2n ** 63n));
    expect(valueOf(sandbox.execute(instance, 'add_i64', [1, 2]))).toBe(3n);
    expect(valueOf(sandbox.execute(instance, 'add_f32', [0.1, 0.2]))).toBe(
      Math.fround(Math.fround(0.1) + Math.fround(0.2)),
    );
    expect(valueOf(sandbox.execute(instance, 'add_f64', [0.1, 0.2]))).toBe(0.1 + 0.2);
    expect(valueOf(sandbox.execute(instance, 'swap', [7, 9n]))).toEqual([9n, 7]);
    expect(valueOf(sandbox.execute(instance, 'nothing'))).toBeUndefined();
    expect(valueOf(sandbox.execute(instance, 'nothing', null))).toBeUndefined();
    expect(valueOf(sandbox.execute(instance, 'nothing', []))).toBeUndefined();
  });

  it('passes a single number or bigint as the only argument', async () => {
    const { sandbox, instance } = await loaded('fibonacci');
    expect(valueOf(sandbox.execute(instance, 'fib', 20))).toBe(6765n);
    expect(valueOf(sandbox.execute(instance, 'fib_iter', 90))).toBe(2880067194370816120n);
  });

  it('returns a complete result with metrics and duration from the injected clock', async () => {
    let clock = 0;
    const sandbox = testSandbox({ now: () => (clock += 2) });
    const { instance } = await loaded('add', { maxGas: 99, maxExecutionMs: 50 }, sandbox);
    const result = sandbox.execute(instance, 'add', [1, 1]);
    // add costs 4: entering the function, two local.get and i32.add.
    expect(result).toEqual({
      ok: true,
      value: 2,
      gasUsed: 4,
      durationMs: 2,
      metrics: {
        memoryUsedBytes: 0,
        memoryLimitBytes: 16777216,
        gasUsed: 4,
        gasLimit: 99,
        executionMs: 2,
        executionLimitMs: 50,
      },
    });
    expect(instance.metrics).toEqual(result.ok && result.metrics);
    // Each is a copy of its own: changing one (a caller in JavaScript may) changes nothing else.
    if (result.ok) (result.metrics as { gasUsed: number }).gasUsed = 1000;
    (instance.metrics as { gasUsed: number }).gasUsed = 2000;
    expect(instance.metrics.gasUsed).toBe(4);
    expect(sandbox.getMetrics(instance)).toMatchObject({ ok: true, value: { gasUsed: 4 } });
  });

  it.each([
    [[1], /expected 2 arguments \(i32, i32\), got 1/],
    [[1, 2, 3], /expected 2 arguments/],
    [[1.5, 2], /argument 0: expected an i32/],
    [[2 ** 32, 2], /argument 0: expected an i32/],
    [[1n, 2], /argument 0: expected an i32 .* got 1n/],
  ])('rejects arguments %o that do not fit the signature with INVALID_PAYLOAD', async (payload, reason) => {
    const { sandbox, instance } = await loaded('add');
    const error = errorOf(sandbox.execute(instance, 'add', payload));
    expect(error.code).toBe('INVALID_PAYLOAD');
    expect(error.code === 'INVALID_PAYLOAD' && error.reason).toMatch(reason);
    expect(instance.status).toBe('loaded');
  });

  it('rejects other type mismatches', async () => {
    const { sandbox, instance } = await loaded('add');
    expect(errorOf(sandbox.execute(instance, 'add_i64', [1.5, 1])).message).toMatch(/expected an i64/);
    expect(errorOf(sandbox.execute(instance, 'add_i64', [2n ** 64n, 1n])).message).toMatch(/expected an i64/);
    expect(errorOf(sandbox.execute(instance, 'add_f64', [1n, 1])).message).toMatch(/expected an f64/);
    expect(errorOf(sandbox.execute(instance, 42 as never)).code).toBe('INVALID_PAYLOAD');
  });

  it('refuses actions whose signature cannot cross to the host', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    await sandbox.load(
      created.value,
      wat('(module (func (export "v") (result v128) (v128.const i32x4 0 0 0 0)))'),
    );
    expect(errorOf(sandbox.execute(created.value, 'v'))).toMatchObject({ code: 'INVALID_PAYLOAD' });
    expect(errorOf(sandbox.execute(created.value, 'v')).message).toMatch(/\(\) -> v128/);
  });
});

describe('execute in JSON mode', () => {
  it.each([
    [{ a: 1, b: [true, null, 'x'] }],
    ['a string'],
    ['émoji 🎉 and "quotes"'],
    [[1, 'mixed']],
    [true],
    [{ nested: { deeper: { list: Array.from({ length: 1000 }, (_, i) => i) } } }],
  ])('round-trips %j through json-echo', async (payload) => {
    const { sandbox, instance } = await loaded('json-echo');
    expect(valueOf(sandbox.execute(instance, 'echo', payload))).toEqual(payload);
  });

  it('grows guest memory for a large payload', async () => {
    const { sandbox, instance } = await loaded('json-echo');
    const big = 'x'.repeat(200_000);
    expect(valueOf(sandbox.execute(instance, 'echo', big))).toBe(big);
    expect(instance.metrics.memoryUsedBytes).toBeGreaterThan(200_000);
  });

  it('returns undefined for a 0 result', async () => {
    const { sandbox, instance } = await loaded('json-echo');
    expect(valueOf(sandbox.execute(instance, 'nothing', { any: 1 }))).toBeUndefined();
  });

  it.each([
    ['bad_pointer', /outside the guest's 65536 bytes/],
    ['bad_utf8', /not valid UTF-8/],
    ['bad_json', /not valid JSON: "\{not json"/],
  ])('reports %s as WASM_TRAP abi_violation', async (action, message) => {
    const { sandbox, instance } = await loaded('json-echo');
    const error = errorOf(sandbox.execute(instance, action, { x: 1 }));
    expect(error).toMatchObject({ code: 'WASM_TRAP', trapKind: 'abi_violation' });
    expect(error.message).toMatch(message);
    expect(instance.status).toBe('loaded');
  });

  it('answers INVALID_PAYLOAD for a payload the action cannot take, saying what it takes', async () => {
    const { sandbox, instance } = await loaded('json-echo');
    expect(errorOf(sandbox.execute(instance, 'wrong_signature', { x: 1 }))).toMatchObject({
      code: 'INVALID_PAYLOAD',
      message: expect.stringMatching(
        /pass its arguments as numbers \(a JSON payload needs .* \(i32, i32\) -> i64\)/,
      ) as unknown,
    });
    const adder = await loaded('add');
    expect(errorOf(adder.sandbox.execute(adder.instance, 'add', ['1', '2']))).toMatchObject({
      code: 'INVALID_PAYLOAD',
      message: expect.stringMatching(/"add" argument 0: expected an i32 .*, got "1"/) as unknown,
    });
    expect(errorOf(adder.sandbox.execute(adder.instance, 'add', [1]))).toMatchObject({
      code: 'INVALID_PAYLOAD',
      message: expect.stringMatching(/expected 2 arguments/) as unknown,
    });
    expect(errorOf(adder.sandbox.execute(adder.instance, 'add', { x: 1 }))).toMatchObject({
      code: 'INVALID_PAYLOAD',
    });
  });

  it("checks __alloc's signature, its pointer and the presence of memory", async () => {
    const sandbox = testSandbox();
    const run = async (source: string) => {
      const created = sandbox.create();
      if (!created.ok) throw new Error();
      const result = await sandbox.load(created.value, wat(source));
      if (!result.ok) throw new Error(result.error.message);
      return errorOf(sandbox.execute(created.value, 'act', { x: 1 }));
    };
    const action = '(func (export "act") (param i32 i32) (result i64) (i64.const 0))';
    expect(
      (await run(`(module (memory 1) (func (export "__alloc") (result i32) (i32.const 0)) ${action})`))
        .message,
    ).toMatch(/__alloc has signature \(\) -> i32/);
    expect(
      (
        await run(
          `(module (memory 1) (func (export "__alloc") (param i32) (result i32) (i32.const 65535)) ${action})`,
        )
      ).message,
    ).toMatch(/returned 65535, outside/);
    expect(
      (await run(`(module (func (export "__alloc") (param i32) (result i32) (i32.const 0)) ${action})`))
        .message,
    ).toMatch(/needs the module to have a memory/);
    expect(
      await run(
        `(module (memory 1) (func (export "__alloc") (param i32) (result i32) unreachable) ${action})`,
      ),
    ).toMatchObject({
      trapKind: 'unreachable',
    });
    expect(await run(`(module (memory 1) ${action})`)).toMatchObject({
      code: 'WASM_TRAP',
      trapKind: 'missing_export',
      message: expect.stringMatching(/__alloc/) as unknown,
    });
  });

  it('rejects payloads with no JSON form with INVALID_PAYLOAD', async () => {
    const { sandbox, instance } = await loaded('json-echo');
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(errorOf(sandbox.execute(instance, 'echo', { big: 1n })).message).toMatch(
      /cannot be serialised as JSON/,
    );
    expect(errorOf(sandbox.execute(instance, 'echo', circular)).code).toBe('INVALID_PAYLOAD');
    expect(errorOf(sandbox.execute(instance, 'echo', () => 1)).message).toMatch(
      /a function has no JSON form/,
    );
    expect(errorOf(sandbox.execute(instance, 'echo', Symbol('s'))).message).toMatch(
      /a symbol has no JSON form/,
    );
    // A payload that throws when read (a proxy, a getter), in each of the three ways it can go.
    const trap = (): never => {
      throw new Error('unreadable');
    };
    for (const payload of [
      new Proxy([1, 2], { get: trap }),
      new Proxy({ text: 'x' }, { ownKeys: trap }),
      canonicalArgs(new Proxy(new Uint8Array(4), { get: trap })),
      canonicalArgs(new Proxy(['a', 'b'], { get: trap })),
    ])
      expect(errorOf(sandbox.execute(instance, 'echo', payload))).toMatchObject({
        code: 'INVALID_PAYLOAD',
      });
    expect(valueOf(sandbox.execute(instance, 'echo', { still: 'works' }))).toEqual({ still: 'works' });
  });

  it('runs real compiler output through the ABI', async () => {
    const sort = await loaded('sort', { maxGas: 1e9, maxExecutionMs: 10_000 });
    const values = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 1000) - 500);
    expect(valueOf(sort.sandbox.execute(sort.instance, 'sort', { values }))).toEqual(
      [...values].sort((a, b) => a - b),
    );
    expect(valueOf(sort.sandbox.execute(sort.instance, 'sort', { values: [] }))).toEqual([]);
    expect(valueOf(sort.sandbox.execute(sort.instance, 'sort', { values: [1, 'x'] }))).toEqual({
      error: 'expected {"values": [integers]}',
    });
    const sha = await loaded('sha256', { maxGas: 1e9, maxExecutionMs: 10_000 });
    expect(valueOf(sha.sandbox.execute(sha.instance, 'sha256', 'abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const text = 'h\u00e9llo "w\u00f6rld"\n\t\u2603';
    expect(valueOf(sha.sandbox.execute(sha.instance, 'sha256', text))).toBe(await sha256Hex(text));
    expect(valueOf(sha.sandbox.execute(sha.instance, 'sha256', { not: 'a string' }))).toEqual({
      error: 'expected a JSON string',
    });
    expect(valueOf(sha.sandbox.execute(sha.instance, 'sha256_pattern', 1 << 20))).toBe(
      await patternDigestPrefix(1 << 20),
    );
  });
});

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The first 4 bytes (big-endian, signed) of SHA-256 over the sha256 fixture's pattern. */
async function patternDigestPrefix(length: number): Promise<number> {
  const data = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);
  const digest = new DataView(await crypto.subtle.digest('SHA-256', data));
  return digest.getInt32(0);
}
