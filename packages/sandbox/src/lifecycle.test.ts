import { describe, expect, it } from 'vitest';
import type { SandboxInstance } from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { errorOf, loaded, testSandbox, valueOf } from '../test/helpers';

describe('traps', () => {
  it.each([
    ['unreachable', undefined, 'unreachable'],
    ['out_of_bounds_memory', undefined, 'out_of_bounds_memory'],
    ['divide_by_zero', 0, 'divide_by_zero'],
    ['integer_overflow', undefined, 'integer_overflow'],
    ['invalid_conversion', undefined, 'invalid_conversion'],
    ['indirect_call_mismatch', undefined, 'indirect_call_mismatch'],
    ['null_reference', undefined, 'indirect_call_mismatch'],
    ['out_of_bounds_table', undefined, 'out_of_bounds_table'],
    ['stack_overflow', 0, 'stack_overflow'],
    ['uncaught_exception', undefined, 'uncaught_exception'],
  ])('%s becomes WASM_TRAP %s and the instance stays usable', async (action, payload, trapKind) => {
    const { sandbox, instance } = await loaded('traps');
    expect(errorOf(sandbox.execute(instance, action, payload))).toMatchObject({
      code: 'WASM_TRAP',
      trapKind,
    });
    expect(instance.status).toBe('loaded');
    expect(valueOf(sandbox.execute(instance, 'divide_by_zero', 1))).toBe(1);
  });

  it('reports a missing action with what is exported', async () => {
    const { sandbox, instance } = await loaded('add');
    const error = errorOf(sandbox.execute(instance, 'nope'));
    expect(error).toMatchObject({ code: 'WASM_TRAP', trapKind: 'missing_export' });
    expect(error.message).toBe(
      '"nope" is not exported (exported functions: add, add_i64, add_f32, add_f64, swap, nothing)',
    );
    expect(errorOf(sandbox.execute(instance, 'toString')).message).toMatch(/is not exported/);
  });

  it('refuses to call a non-function export', async () => {
    const { sandbox, instance } = await loaded('memory-hog');
    expect(errorOf(sandbox.execute(instance, 'memory')).message).toMatch(/exported, but not as a function/);
  });

  it('answers INVALID_STATE before load', () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error();
    expect(errorOf(sandbox.execute(created.value, 'add', [1, 2]))).toMatchObject({
      code: 'INVALID_STATE',
      status: 'created',
      operation: 'execute',
      message: 'cannot execute instance sandbox-0 while it is created: load a module first',
    });
  });
});

describe('state and metrics', () => {
  it('keeps state between executions', async () => {
    const { sandbox, instance } = await loaded('counter');
    expect([1, 2, 3].map(() => valueOf(sandbox.execute(instance, 'increment')))).toEqual([1, 2, 3]);
    expect(valueOf(sandbox.execute(instance, 'add', 10))).toBe(13);
  });

  it('reports live memory usage', async () => {
    const { sandbox, instance } = await loaded('memory-hog', { maxMemoryBytes: 1 << 20 });
    expect(sandbox.getMetrics(instance)).toMatchObject({
      ok: true,
      value: { memoryUsedBytes: 65536, memoryLimitBytes: 1 << 20 },
    });
    expect(valueOf(sandbox.execute(instance, 'grow', 3))).toBe(1);
    expect(sandbox.getMetrics(instance)).toMatchObject({ ok: true, value: { memoryUsedBytes: 4 * 65536 } });
    expect(errorOf(sandbox.execute(instance, 'hog'))).toMatchObject({
      code: 'MEMORY_EXCEEDED',
      memoryUsed: 17 * 65536,
      memoryLimit: 1 << 20,
    });
    expect(instance.metrics.memoryUsedBytes).toBe(1 << 20);
    expect(valueOf(sandbox.execute(instance, 'fill', 7))).toBe(1 << 20);
    expect(valueOf(sandbox.execute(instance, 'load', (1 << 20) - 1))).toBe(7);
  });

  it('keeps imported memory within the limit', async () => {
    const { sandbox, instance } = await loaded('imported-memory', { maxMemoryBytes: 3 * 65536 });
    valueOf(sandbox.execute(instance, 'store', [100, 42]));
    expect(valueOf(sandbox.execute(instance, 'load', 100))).toBe(42);
    expect(valueOf(sandbox.execute(instance, 'grow', 2))).toBe(1);
    expect(errorOf(sandbox.execute(instance, 'grow', 1))).toMatchObject({
      code: 'MEMORY_EXCEEDED',
      memoryUsed: 4 * 65536,
    });
    expect(instance.metrics.memoryUsedBytes).toBe(3 * 65536);
  });

  it('runs many independent instances side by side', async () => {
    const sandbox = testSandbox();
    const instances: SandboxInstance[] = [];
    for (let i = 0; i < 50; i++) instances.push((await loaded('counter', {}, sandbox)).instance);
    instances.forEach((instance, i) => sandbox.execute(instance, 'add', i));
    expect(instances.map((instance) => valueOf(sandbox.execute(instance, 'get')))).toEqual(
      instances.map((_, i) => i),
    );
  });

  it('refuses instances of another sandbox', async () => {
    const { instance } = await loaded('add');
    const other = testSandbox();
    expect(errorOf(other.execute(instance, 'add', [1, 2]))).toMatchObject({ code: 'INVALID_STATE' });
    expect(errorOf(other.getMetrics(instance)).code).toBe('INVALID_STATE');
    expect(errorOf(other.destroy(instance)).code).toBe('INVALID_STATE');
    expect(errorOf(await other.load(instance, fixture('add'))).code).toBe('INVALID_STATE');
    expect(errorOf(other.execute(instance, 'add'))).toMatchObject({
      status: 'unknown',
      instanceId: instance.id,
      message: `cannot execute: instance ${instance.id} belongs to another sandbox; pass an instance this sandbox's create returned`,
    });
    for (const [given, what] of [
      [undefined, 'undefined'],
      [null, 'null'],
      [5, 'a number'],
      [{ id: 5 }, 'that object'],
    ] as const) {
      expect(errorOf(other.snapshot(given as never))).toMatchObject({
        code: 'INVALID_STATE',
        status: 'unknown',
        instanceId: '',
        message: `cannot snapshot: ${what} is not an instance; pass an instance this sandbox's create returned`,
      });
    }
  });

  it('refuses a look-alike of an instance: a proxy of one, an object made from one, a copy of its fields', async () => {
    const { sandbox, instance } = await loaded('add');
    const lookAlikes = [
      new Proxy(instance, {}),
      new Proxy(instance, {
        get() {
          throw new Error('a trap that throws');
        },
      }),
      Object.create(instance) as typeof instance,
      { id: instance.id, status: instance.status, config: instance.config, metrics: instance.metrics },
    ];
    for (const fake of lookAlikes) {
      expect(errorOf(sandbox.execute(fake, 'add', [1, 2]))).toMatchObject({ code: 'INVALID_STATE' });
      expect(errorOf(sandbox.destroy(fake)).code).toBe('INVALID_STATE');
      expect(errorOf(sandbox.getMetrics(fake)).code).toBe('INVALID_STATE');
    }
    // A copy of the fields names the instance it copied; the others name none.
    expect(errorOf(sandbox.execute(lookAlikes[3] as typeof instance, 'add')).message).toContain(
      `instance ${instance.id} belongs to another sandbox`,
    );
    expect(errorOf(sandbox.execute(lookAlikes[2] as typeof instance, 'add')).message).toContain(
      'that object is not an instance',
    );
    // The instance itself is untouched by all that.
    expect(sandbox.execute(instance, 'add', [1, 2])).toMatchObject({ ok: true, value: 3 });
  });
});

describe('destroy', () => {
  it('is idempotent, releases memory and host references, and ends every operation', async () => {
    const { sandbox, instance } = await loaded('memory-hog');
    expect(sandbox.destroy(instance)).toEqual({ ok: true, value: undefined });
    expect(sandbox.destroy(instance)).toEqual({ ok: true, value: undefined });
    expect(instance.status).toBe('destroyed');
    expect(instance.metrics.memoryUsedBytes).toBe(0);
    expect(instance.config.hostFunctions).toEqual({});
    const destroyed = { code: 'INSTANCE_DESTROYED', instanceId: instance.id };
    expect(errorOf(sandbox.execute(instance, 'pages'))).toMatchObject(destroyed);
    expect(errorOf(await sandbox.load(instance, fixture('add')))).toMatchObject(destroyed);
    expect(errorOf(sandbox.getMetrics(instance))).toMatchObject(destroyed);
    expect(errorOf(sandbox.snapshot(instance))).toMatchObject(destroyed);
    expect(errorOf(sandbox.restore(instance, new Uint8Array()))).toMatchObject(destroyed);
  });
});
