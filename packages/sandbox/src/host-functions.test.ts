import { describe, expect, it, vi } from 'vitest';
import { type HostFunction, type WasmSandbox, defineHostFunction } from '@ri-sandbox/core';
import { wat } from '../../core/test/wat';
import { errorOf, hostFunctions, loaded, testSandbox, valueOf } from '../test/helpers';

describe('host functions', () => {
  it('receive typed arguments and return typed results', async () => {
    const { sandbox, instance } = await loaded('host-caller', { hostFunctions: hostFunctions() });
    expect(valueOf(sandbox.execute(instance, 'call_add', [40, 2]))).toBe(42);
    expect(valueOf(sandbox.execute(instance, 'call_i64', 2n ** 40n))).toBe(2n ** 41n);
  });

  it('read guest memory through the call context', async () => {
    const seen: string[] = [];
    const host_log = defineHostFunction({
      name: 'host_log',
      params: ['i32', 'i32'],
      results: [],
      handler: (pointer, length, context) => {
        seen.push(
          `${context.instanceId}: ${new TextDecoder().decode(context.memory?.read(pointer, length))}`,
        );
        expect(() => context.memory?.read(65530, 10)).toThrow(RangeError);
        context.memory?.write(0, new Uint8Array([1, 2]));
        expect(context.memory?.byteLength).toBe(65536);
      },
    });
    const { sandbox, instance } = await loaded('host-caller', { hostFunctions: hostFunctions({ host_log }) });
    expect(valueOf(sandbox.execute(instance, 'call_log'))).toBeUndefined();
    expect(seen).toEqual([`${instance.id}: hello from wasm`]);
  });

  it('must return nothing when they declare no results', async () => {
    const host_log = defineHostFunction({
      name: 'host_log',
      params: ['i32', 'i32'],
      results: [],
      handler: () => 'str' as unknown as undefined,
    });
    const { sandbox, instance } = await loaded('host-caller', { hostFunctions: hostFunctions({ host_log }) });
    expect(errorOf(sandbox.execute(instance, 'call_log'))).toMatchObject({
      code: 'HOST_FUNCTION_ERROR',
      functionName: 'host_log',
      message:
        'host function "host_log" failed: returned a bad value: declared no results, so it must return nothing, but returned "str"',
    });
  });

  it("see their own module's memory, never a previous module's, from the start function on", async () => {
    const seen: (number | undefined)[] = [];
    const probe = defineHostFunction({
      name: 'probe',
      params: [],
      results: [],
      handler: (context) => {
        seen.push(context.memory?.byteLength);
      },
    });
    const sandbox = testSandbox();
    const created = sandbox.create({ hostFunctions: { probe } });
    if (!created.ok) throw new Error(created.error.message);
    const first = await sandbox.load(
      created.value,
      wat('(module (import "env" "probe" (func $p)) (memory 3) (func (export "run") (call $p)))'),
    );
    expect(first.ok).toBe(true);
    valueOf(sandbox.execute(created.value, 'run'));
    const second = await sandbox.load(
      created.value,
      wat('(module (import "env" "probe" (func $p)) (memory 1) (start $p) (func (export "run") (call $p)))'),
    );
    expect(second.ok).toBe(true);
    valueOf(sandbox.execute(created.value, 'run'));
    expect(seen).toEqual([3 * 65536, 65536, 65536]);
  });

  it('see the instance running, and cannot re-enter it', async () => {
    const box: { sandbox?: WasmSandbox; status?: string; reentry?: unknown } = {};
    const host_add = defineHostFunction({
      name: 'host_add',
      params: ['i32', 'i32'],
      results: ['i32'],
      handler: (a, b) => {
        box.status = instance.status;
        box.reentry = box.sandbox?.execute(instance, 'call_add', [1, 1]);
        return a + b;
      },
    });
    const { sandbox, instance } = await loaded('host-caller', { hostFunctions: hostFunctions({ host_add }) });
    box.sandbox = sandbox;
    expect(valueOf(sandbox.execute(instance, 'call_add', [1, 2]))).toBe(3);
    expect(box.status).toBe('running');
    expect(box.reentry).toMatchObject({
      ok: false,
      error: { code: 'INVALID_STATE', status: 'running', operation: 'execute' },
    });
    expect(instance.status).toBe('loaded');
  });

  it('that throw abort the execution with HOST_FUNCTION_ERROR; the guest does not go on', async () => {
    const handler = vi.fn((): number => {
      throw new Error('database is down');
    });
    const host_add = { name: 'host_add', params: ['i32', 'i32'], results: ['i32'], handler } as HostFunction;
    const { sandbox, instance } = await loaded('host-caller', { hostFunctions: hostFunctions({ host_add }) });
    const error = errorOf(sandbox.execute(instance, 'call_twice', 5));
    expect(error).toMatchObject({ code: 'HOST_FUNCTION_ERROR', functionName: 'host_add' });
    expect(error.message).toBe('host function "host_add" failed: database is down');
    expect(handler).toHaveBeenCalledTimes(1);
    expect(valueOf(sandbox.execute(instance, 'ran_after_first_call'))).toBe(0);
    expect(instance.status).toBe('loaded');
    handler.mockImplementation(() => 7);
    expect(valueOf(sandbox.execute(instance, 'call_twice', 5))).toBe(7);
  });

  it.each([
    ['a float for an i32', 1.5, /expected an i32/],
    ['a string for an i32', 'one', /expected an i32 .* got "one"/],
    ['nothing for an i32', undefined, /got undefined/],
  ])('that return %s abort with HOST_FUNCTION_ERROR', async (_label, returned, message) => {
    const host_add = {
      name: 'host_add',
      params: ['i32', 'i32'],
      results: ['i32'],
      handler: () => returned,
    } as HostFunction;
    const { sandbox, instance } = await loaded('host-caller', { hostFunctions: hostFunctions({ host_add }) });
    const error = errorOf(sandbox.execute(instance, 'call_add', [1, 2]));
    expect(error.code).toBe('HOST_FUNCTION_ERROR');
    expect(error.message).toMatch(message);
  });

  it('check i64 and multi-value results', async () => {
    let pairResult: unknown = [3, 4n];
    const pair = {
      name: 'pair',
      params: [],
      results: ['i32', 'i64'],
      handler: () => pairResult,
    } as HostFunction;
    const wide = { name: 'wide', params: [], results: ['i64'], handler: () => 5 } as HostFunction;
    const sandbox = testSandbox();
    const created = sandbox.create({ hostFunctions: { pair, wide } });
    if (!created.ok) throw new Error();
    const result = await sandbox.load(
      created.value,
      wat(`(module
        (import "env" "pair" (func $pair (result i32 i64)))
        (import "env" "wide" (func $wide (result i64)))
        (func (export "pair") (result i32 i64) (call $pair))
        (func (export "wide") (result i64) (call $wide)))`),
    );
    if (!result.ok) throw new Error(result.error.message);
    expect(valueOf(sandbox.execute(created.value, 'pair'))).toEqual([3, 4n]);
    expect(valueOf(sandbox.execute(created.value, 'wide'))).toBe(5n);
    pairResult = 3;
    expect(errorOf(sandbox.execute(created.value, 'pair')).message).toMatch(
      /expected an array of 2 results, got number/,
    );
    pairResult = [3];
    expect(errorOf(sandbox.execute(created.value, 'pair')).message).toMatch(
      /expected 2 results \(i32, i64\), got 1/,
    );
    pairResult = [3, 'x'];
    expect(errorOf(sandbox.execute(created.value, 'pair')).message).toMatch(/result 1: expected an i64/);
  });

  it('whose guest catches the abort still fail the execution, and every later host call fails too', async () => {
    const calls: number[] = [];
    const fail = defineHostFunction({
      name: 'fail',
      params: ['i32'],
      results: ['i32'],
      handler: (n) => {
        calls.push(n);
        if (n === 1) throw new Error('first call fails');
        return n;
      },
    });
    const sandbox = testSandbox();
    const created = sandbox.create({ hostFunctions: { fail } });
    if (!created.ok) throw new Error();
    const result = await sandbox.load(
      created.value,
      wat(`(module
        (import "env" "fail" (func $fail (param i32) (result i32)))
        (func (export "sneaky") (result i32)
          (try (result i32)
            (do (call $fail (i32.const 1)))
            (catch_all (call $fail (i32.const 2))))))`),
    );
    if (!result.ok) throw new Error(result.error.message);
    expect(errorOf(sandbox.execute(created.value, 'sneaky'))).toMatchObject({
      code: 'HOST_FUNCTION_ERROR',
      functionName: 'fail',
    });
    expect(calls).toEqual([1]);
  });

  it('that destroy the instance end the execution with INSTANCE_DESTROYED', async () => {
    const box: { sandbox?: WasmSandbox } = {};
    const host_add = defineHostFunction({
      name: 'host_add',
      params: ['i32', 'i32'],
      results: ['i32'],
      handler: () => {
        box.sandbox?.destroy(instance);
        return 0;
      },
    });
    const { sandbox, instance } = await loaded('host-caller', { hostFunctions: hostFunctions({ host_add }) });
    box.sandbox = sandbox;
    expect(errorOf(sandbox.execute(instance, 'call_twice', 1))).toMatchObject({ code: 'INSTANCE_DESTROYED' });
    expect(instance.status).toBe('destroyed');
  });
});
