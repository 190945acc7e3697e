/** Shared set-up for the sandbox tests. */
import { expect } from 'vitest';
import {
  type ExecutionResult,
  type HostFunction,
  type SandboxConfigInput,
  type SandboxError,
  type SandboxInstance,
  type SuspendingSandbox,
  defineHostFunction,
} from '@ri-sandbox/core';
import { type FixtureName, fixture } from '@ri-sandbox/test-fixtures';
import { type SandboxOptions, createWasmSandbox } from '../src/index';

/**
 * The time limit of every test instance that does not set one: far above what
 * any test's guest code needs (microseconds to milliseconds, with a cold
 * module's lazy compilation), so a machine whose cores are busy elsewhere
 * never turns a result into `TIMEOUT`. Tests about time set their own.
 */
export const GENEROUS_MS = 60_000;

/** `config` with {@link GENEROUS_MS} as its time limit unless it sets one (anything but an object passes as it is). */
export function generous(config: unknown): SandboxConfigInput {
  if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config)))
    return config as SandboxConfigInput;
  return { maxExecutionMs: GENEROUS_MS, ...(config as SandboxConfigInput | undefined) };
}

/** A sandbox factory whose instances get {@link GENEROUS_MS} unless their config says otherwise. */
export function testSandbox(options?: SandboxOptions): SuspendingSandbox {
  const sandbox = createWasmSandbox(options);
  return { ...sandbox, create: (config) => sandbox.create(generous(config)) };
}

/** A sandbox with an instance of `config` that has `name` loaded. */
export async function loaded(
  name: FixtureName,
  config: SandboxConfigInput = {},
  sandbox: SuspendingSandbox = testSandbox(),
): Promise<{ sandbox: SuspendingSandbox; instance: SandboxInstance }> {
  const created = sandbox.create(config);
  if (!created.ok) throw new Error(created.error.message);
  const result = await sandbox.load(created.value, fixture(name));
  if (!result.ok) throw new Error(result.error.message);
  return { sandbox, instance: created.value };
}

/** The value of a successful execution (fails the test otherwise). */
export function valueOf(result: ExecutionResult): unknown {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** The value of a successful result (fails the test otherwise). */
export function valueOfResult<T>(result: { ok: true; value: T } | { ok: false; error: SandboxError }): T {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** The error of a failed result (fails the test otherwise). */
export function errorOf(result: { ok: true } | { ok: false; error: SandboxError }): SandboxError {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('expected failure');
  return result.error;
}

/** The host functions the host-caller fixture imports, with any of them replaced by `overrides`. */
export function hostFunctions(
  overrides: Partial<Record<'host_add' | 'host_log' | 'host_i64', HostFunction>> = {},
) {
  return {
    host_add: defineHostFunction({
      name: 'host_add',
      params: ['i32', 'i32'],
      results: ['i32'],
      handler: (a, b) => a + b,
    }),
    host_log: defineHostFunction({
      name: 'host_log',
      params: ['i32', 'i32'],
      results: [],
      handler: () => undefined,
    }),
    host_i64: defineHostFunction({
      name: 'host_i64',
      params: ['i64'],
      results: ['i64'],
      handler: (x) => x * 2n,
    }),
    ...overrides,
  };
}
