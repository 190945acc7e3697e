import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '@ri-sandbox/core';
import { DEFAULT_COST_MODEL, resolveCostModel } from '@ri-sandbox/metering';
import { type BindingInputs, snapshotBinding, snapshotTarget } from './snapshots';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const INPUTS: BindingInputs = {
  config: { ...DEFAULT_CONFIG, hostFunctions: {}, eventTimestamp: 0 },
  costs: DEFAULT_COST_MODEL,
  canonicalizeNaNs: true,
  memoryGrowFailure: 'trap',
  hostImports: [
    { module: 'env', name: 'log' },
    { module: 'wasi_snapshot_preview1', name: 'fd_write' },
  ],
  provided: {
    log: { name: 'log', params: ['i32', 'i32'], results: [] },
    // A second provider of the same import: the first one decides.
    other: { module: 'env', name: 'log', params: ['i64'], results: ['i64'] },
    write: {
      module: 'wasi_snapshot_preview1',
      name: 'fd_write',
      params: ['i32', 'i32', 'i32', 'i32'],
      results: ['i32'],
    },
  },
  capabilities: ['wasi'],
};

describe('snapshotBinding', () => {
  it('hashes a configuration as it always has (a change would refuse every snapshot saved before)', () => {
    const binding = snapshotBinding(new Uint8Array(32).fill(7), INPUTS, new Map());
    expect(hex(binding.moduleHash)).toBe('07'.repeat(32));
    // Pinned: change it only with INSTRUMENTATION_VERSION, or with a deliberate change of what is hashed.
    expect(hex(binding.configHash)).toBe('edb7b5f4a8001d4e6a6dcc4d218e87636656a943168d847f27e4cc5aabbce044');
  });

  it('hashes the same cost model to the same text however its overrides were ordered', () => {
    const a = resolveCostModel({ instructions: { 'i32.add': 3, call: 2 } });
    const b = resolveCostModel({ instructions: { call: 2, 'i32.add': 3 } });
    if (!a.ok || !b.ok) throw new Error('cost model refused');
    const first = snapshotBinding(new Uint8Array(32), { ...INPUTS, costs: a.value }, new Map());
    const second = snapshotBinding(new Uint8Array(32), { ...INPUTS, costs: b.value }, new Map());
    expect(hex(first.configHash)).toBe(hex(second.configHash));
    const plain = snapshotBinding(new Uint8Array(32), INPUTS, new Map());
    expect(hex(first.configHash)).not.toBe(hex(plain.configHash));
  });

  it("depends on each import's provider, and reuses a hash already computed", () => {
    const cache = new Map<string, Uint8Array>();
    const before = snapshotBinding(new Uint8Array(32), INPUTS, cache);
    const changed = snapshotBinding(
      new Uint8Array(32),
      { ...INPUTS, provided: { ...INPUTS.provided, log: { name: 'log', params: ['i32'], results: [] } } },
      cache,
    );
    expect(hex(changed.configHash)).not.toBe(hex(before.configHash));
    expect(cache.size).toBe(2);
    const again = snapshotBinding(new Uint8Array(32), INPUTS, cache);
    expect(again.configHash).toBe(before.configHash);
  });
});

describe('snapshotTarget', () => {
  it("takes a Uint8Array, or none, and refuses a view of the instance's own memory", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const into = new Uint8Array(16);
    expect(snapshotTarget(undefined, memory)).toEqual({ ok: true, value: undefined });
    expect(snapshotTarget({ into }, memory)).toEqual({ ok: true, value: into });
    expect(snapshotTarget({ into: new Uint8Array(memory.buffer, 8) }, undefined).ok).toBe(true);
    expect(snapshotTarget({ into: new Uint8Array(memory.buffer, 8) }, memory)).toMatchObject({
      ok: false,
      error: {
        code: 'INVALID_CONFIG',
        field: 'into',
        reason: "a view of the instance's own memory cannot hold its snapshot",
      },
    });
  });
});
