import { describe, expect, expectTypeOf, it } from 'vitest';
import { type SandboxError, isSandboxError, sandboxError } from './errors';
import type { ExecutionResult } from './types';

describe('sandboxError', () => {
  it('builds frozen errors with actionable messages', () => {
    const all: SandboxError[] = [
      sandboxError.gasExhausted(10, 10),
      sandboxError.memoryExceeded(2, 1),
      sandboxError.timeout(51, 50),
      sandboxError.wasmTrap('unreachable', 'unreachable'),
      sandboxError.invalidModule('bad magic'),
      sandboxError.hostFunctionError('log', new Error('boom')),
      sandboxError.instanceDestroyed('sandbox-0'),
      sandboxError.snapshotError('checksum mismatch'),
      sandboxError.invalidConfig('maxGas', 'must not be negative'),
      sandboxError.invalidPayload('not serialisable'),
      sandboxError.invalidState('sandbox-1', 'running', 'execute'),
      sandboxError.hardKill(151, 50, false),
      sandboxError.workerCrashed('sandbox-2', 'exited with code 3', true),
      sandboxError.instanceLost('sandbox-3', 'its worker crashed'),
    ];
    for (const error of all) {
      expect(Object.isFrozen(error)).toBe(true);
      expect(isSandboxError(error)).toBe(true);
      expect(error.message.length).toBeGreaterThan(10);
    }
    expect(sandboxError.hostFunctionError('log', new Error('boom')).message).toBe(
      'host function "log" failed: boom',
    );
    expect(sandboxError.hostFunctionError('log', { why: 1 }).message).toContain('{"why":1}');
    expect(sandboxError.hostFunctionError('log', 'text').message).toContain('text');
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(sandboxError.hostFunctionError('log', circular).message).toContain('[object Object]');
    expect(sandboxError.hostFunctionError('log', undefined).message).toContain('undefined');
  });

  it('says what a worker sandbox did about a lost worker', () => {
    expect(sandboxError.hardKill(151.4, 50, true)).toMatchObject({
      code: 'TIMEOUT',
      hardKill: true,
      recovered: true,
      message: expect.stringMatching(
        /did not return 151 ms into its 50 ms limit.*restored from its last snapshot/,
      ),
    });
    expect(sandboxError.workerCrashed('sandbox-2', 'out of memory', false).message).toBe(
      'the worker running instance sandbox-2 crashed (out of memory); the instance was lost',
    );
    expect(sandboxError.instanceLost('sandbox-3', 'closed')).toMatchObject({
      code: 'INSTANCE_DESTROYED',
      reason: 'closed',
      message: 'instance sandbox-3 is gone: closed',
    });
  });

  it('recognises only sandbox errors', () => {
    expect(isSandboxError(new Error('x'))).toBe(false);
    expect(isSandboxError({ code: 'NOPE', message: 'x' })).toBe(false);
    expect(isSandboxError({ code: 'TIMEOUT' })).toBe(false);
    expect(isSandboxError(null)).toBe(false);
  });

  it('narrows on code (type-level)', () => {
    const error = sandboxError.timeout(1, 1) as SandboxError;
    switch (error.code) {
      case 'GAS_EXHAUSTED':
        expectTypeOf(error.gasUsed).toEqualTypeOf<number>();
        break;
      case 'TIMEOUT':
        expectTypeOf(error.limitMs).toEqualTypeOf<number>();
        // @ts-expect-error a timeout has no trapKind
        expect(error.trapKind).toBeUndefined();
        break;
      case 'WASM_TRAP':
        expectTypeOf(error.trapKind).toExtend<string>();
        break;
      default:
        expectTypeOf(error).not.toExtend<{ code: 'TIMEOUT' }>();
    }
    const result = { ok: false, error } as ExecutionResult;
    if (result.ok) {
      expectTypeOf(result.gasUsed).toEqualTypeOf<number>();
    } else {
      expectTypeOf(result.error).toEqualTypeOf<SandboxError>();
      // @ts-expect-error a failed result has no value
      expect(result.value).toBeUndefined();
    }
  });
});
