import { describe, expect, it } from 'vitest';
import { ValType, decodeInstructions, decodeModule, encodeModule, readNameSection } from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { walkFunction } from '../test/loops';
import { type CostModel, resolveCostModel } from './cost-model';
import { type MeteringOptions, instrument, meterModule, meteringGlobals } from './instrument';
import { Meter, type MeterLimits } from './meter';
import {
  CONTROL_EXPORT,
  CONTROL_READ_ABORT_ARGUMENT,
  CONTROL_READ_GAS,
  CONTROL_TAKE_ABORT,
  CONTROL_WRITE_GAS,
} from './names';

const LIMITS: MeterLimits = { maxGas: 1e12, maxExecutionMs: 60_000 };

/** The instrumented instance's control function (see `CONTROL_EXPORT`). */
const controlOf = (instance: WebAssembly.Instance) =>
  instance.exports[CONTROL_EXPORT] as (op: number, value: number) => number;

/** Instruments `source`, instantiates it with a meter, and returns a runner for its exports. */
async function metered(
  source: string | Uint8Array<ArrayBuffer>,
  options: MeteringOptions = {},
  imports: WebAssembly.Imports = {},
) {
  const bytes = typeof source === 'string' ? wat(source) : source;
  const result = instrument(bytes, options);
  if (!result.ok) throw new Error(result.error.message);
  const meter = new Meter();
  meter.begin(LIMITS);
  const { instance } = await WebAssembly.instantiate(result.value.bytes, { ...imports, ...meter.imports });
  meter.attach(instance);
  const run = (name: string, args: unknown[] = [], limits: MeterLimits = LIMITS) =>
    meter.run(limits, () => (instance.exports[name] as (...a: unknown[]) => unknown)(...args));
  return { run, instance, meter };
}

/**
 * Instruments `bytes` and instantiates them with a meter whose clock moves `step` ms per reading:
 * a fast clock grows the grants to millions of gas, a slow one shrinks them to a thousand.
 */
async function meteredWithClock(bytes: Uint8Array<ArrayBuffer>, step: number, options: MeteringOptions) {
  const metered = instrument(bytes, options);
  if (!metered.ok) throw new Error(metered.error.message);
  let clock = 0;
  const meter = new Meter({ now: () => (clock += step) });
  const { instance } = await WebAssembly.instantiate(metered.value.bytes, meter.imports);
  meter.attach(instance);
  return { meter, exports: instance.exports };
}

/** Limits no run of these tests reaches, whatever the clock says. */
const UNREACHED = { maxGas: 1e12, maxExecutionMs: 1e15 };

/** How many times `sequence` occurs in `bytes`. */
function countSequence(bytes: Uint8Array, sequence: readonly number[]): number {
  let count = 0;
  for (let i = 0; i + sequence.length <= bytes.length; i++)
    if (sequence.every((byte, k) => bytes[i + k] === byte)) count++;
  return count;
}

function gasOf(result: { ok: boolean; gasUsed: number }): number {
  return result.gasUsed;
}

describe('the cost of straight-line code', () => {
  it('is one per instruction, zero for structure, plus one for entering the function', async () => {
    const { run } = await metered(`(module
      (func (export "empty"))
      (func (export "three") (result i32) (i32.add (i32.const 1) (i32.const 2)))
      (func (export "structure") (block (nop) (block (nop)))))`);
    expect(gasOf(run('empty'))).toBe(1); // entry; `end` is free
    expect(gasOf(run('three'))).toBe(4); // entry + const + const + add
    expect(gasOf(run('structure'))).toBe(1);
  });

  it('charges only the branch that runs', async () => {
    const { run } = await metered(`(module
      (func (export "pick") (param i32) (result i32)
        (if (result i32) (local.get 0)
          (then (i32.mul (i32.const 6) (i32.const 7)))
          (else (i32.const 0)))))`);
    expect(run('pick', [1])).toMatchObject({ ok: true, value: 42, gasUsed: 1 + 2 + 3 }); // entry, local.get, if | 3
    expect(run('pick', [0])).toMatchObject({ ok: true, value: 0, gasUsed: 1 + 2 + 1 });
  });

  it('charges calls in the callee, once per entry', async () => {
    const { run } = await metered(`(module
      (func $leaf (result i32) (i32.const 1))
      (func (export "twice") (result i32) (i32.add (call $leaf) (call $leaf))))`);
    // twice: entry + call + call + add = 4; each leaf: entry + const = 2
    expect(gasOf(run('twice'))).toBe(8);
  });

  it('costs a*n + b for a loop of n iterations (a = 11, b = 7 here)', async () => {
    const { run } = await metered(`(module
      (func (export "count") (param $n i32) (result i32) (local $i i32)
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (local.get $i)))`);
    // a = 9: each iteration runs local.get, local.get, ge_u, br_if, local.get, const, add, local.set, br.
    // b = 6: entering the function (1), the final test that leaves by br_if (4), and local.get after the loop (1).
    const costs = [0, 1, 2, 10, 1000].map((n) => gasOf(run('count', [n])));
    const a = costs[2]! - costs[1]!;
    const b = costs[0]!;
    expect(a).toBe(9);
    expect(b).toBe(6);
    [0, 1, 2, 10, 1000].forEach((n, i) => {
      expect(costs[i]).toBe(a * n + b);
    });
  });

  it('follows an overridden cost model', async () => {
    const options = { costs: { defaultCost: 2, functionEntry: 10, instructions: { 'i32.add': 5 } } };
    const { run } = await metered(
      '(module (func (export "f") (result i32) (i32.add (i32.const 1) (i32.const 2))))',
      options,
    );
    expect(gasOf(run('f'))).toBe(10 + 2 + 2 + 5);
  });

  it('follows a model changed between loads, and a frozen one (resolved once) the same way', async () => {
    const source = '(module (func (export "f") (result i32) (i32.add (i32.const 1) (i32.const 2))))';
    const costs = { defaultCost: 2, functionEntry: 10, instructions: { 'i32.add': 5 } };
    expect(gasOf((await metered(source, { costs })).run('f'))).toBe(19);
    costs.instructions['i32.add'] = 7;
    costs.functionEntry = 20;
    expect(gasOf((await metered(source, { costs })).run('f'))).toBe(31);
    const frozen = resolveCostModel(costs);
    if (!frozen.ok) throw new Error(frozen.error.message);
    for (let load = 0; load < 2; load++)
      expect(gasOf((await metered(source, { costs: frozen.value })).run('f'))).toBe(31);
    // Frozen at the top but not its instructions: still read afresh.
    const instructions = { 'i32.add': 5 };
    const shallow = Object.freeze({ defaultCost: 2, functionEntry: 10, instructions });
    expect(gasOf((await metered(source, { costs: shallow })).run('f'))).toBe(19);
    instructions['i32.add'] = 9;
    expect(gasOf((await metered(source, { costs: shallow })).run('f'))).toBe(23);
  });
});

describe('quiet loops', () => {
  // Nothing in the loop can trap or call, so its header does not store the counter; where it ends does.
  const SPIN = wat(`(module (func (export "spin") (param $n i32) (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (unreachable)))`);

  /** The gas of a trap after 200,000 iterations, with a clock that moves `step` ms per reading. */
  async function trapGas(step: number, options: MeteringOptions = {}): Promise<number> {
    const { meter, exports } = await meteredWithClock(SPIN, step, options);
    const run = meter.run(UNREACHED, () => {
      (exports['spin'] as (n: number) => void)(200_000);
    });
    expect(run).toMatchObject({ ok: false, error: { code: 'WASM_TRAP' } });
    return run.gasUsed;
  }

  it('report the same gas for a trap after them, however the clock sized the grants', async () => {
    // A fast clock grows the grants to millions, a slow one shrinks them to a thousand: the refills
    // happen at other iterations, and the trap's gas must not see where.
    const fast = await trapGas(0.001);
    expect(await trapGas(5)).toBe(fast);
    expect(await trapGas(0.001, { chargeAhead: false })).toBe(fast);
    expect(fast).toBeGreaterThan(200_000 * 8);
  });
});

describe('hot loops', () => {
  const WALK = wat(`(module ${walkFunction('walk')})`);

  /** For each innermost loop of `code`, whether a call is left in it. */
  function innermostLoopsCall(code: Uint8Array): boolean[] {
    const found: boolean[] = [];
    const open: { loop: boolean; nested: boolean; calls: boolean }[] = [];
    for (const {
      op: { name },
    } of decodeInstructions(code)) {
      if (name === 'block' || name === 'loop' || name === 'if') {
        if (name === 'loop') for (const o of open) o.nested = true;
        open.push({ loop: name === 'loop', nested: false, calls: false });
      } else if (name === 'call') {
        for (const o of open) o.calls = true;
      } else if (name === 'end') {
        const closed = open.pop();
        if (closed?.loop === true && !closed.nested) found.push(closed.calls);
      }
    }
    return found;
  }

  it('ask for gas outside the loop, so that no call is left in it', () => {
    const metered = instrument(WALK);
    if (!metered.ok) throw new Error(metered.error.message);
    const body = decodeModule(metered.value.bytes).code[0];
    // The loop's fast version (see c/write.c) and the loop itself.
    expect(innermostLoopsCall(body?.code ?? new Uint8Array())).toEqual([false, false]);
    // A loop that calls keeps its check's call: nothing is gained by moving it.
    const calling = instrument(wat('(module (func $f) (func (export "g") (loop $l (call $f) (br $l))))'));
    if (!calling.ok) throw new Error(calling.error.message);
    expect(innermostLoopsCall(decodeModule(calling.value.bytes).code[1]?.code ?? new Uint8Array())).toEqual([
      true,
    ]);
  });

  it('keep a block type given by index (two results here) on their wrapping', async () => {
    const PAIR = wat(`(module (type $two (func (result i32 i32)))
      (func (export "pair") (param $n i32) (result i32) (local $i i32)
        (i32.sub
          (loop $next (type $two) (result i32 i32)
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $next (i32.lt_u (local.get $i) (local.get $n)))
            (local.get $i)
            (i32.const 7)))))`);
    const gas = await Promise.all(
      [0.001, 5].map(async (step) => {
        const { meter, exports } = await meteredWithClock(PAIR, step, {});
        const run = meter.run(UNREACHED, () => (exports['pair'] as (n: number) => number)(3000));
        expect(run).toMatchObject({ ok: true, value: 3000 - 7 });
        return run.gasUsed;
      }),
    );
    expect(gas[1]).toBe(gas[0]);
    const metered = instrument(PAIR);
    if (!metered.ok) throw new Error(metered.error.message);
    expect(innermostLoopsCall(decodeModule(metered.value.bytes).code[0]?.code ?? new Uint8Array())).toEqual([
      false,
      false,
    ]);
  });

  it('give the original results, and the same gas however often they asked for gas', async () => {
    const raw = (await WebAssembly.instantiate(WALK)).instance.exports['walk'] as (n: number) => number;
    const runs = async (step: number, options: MeteringOptions = {}) => {
      const { meter, exports } = await meteredWithClock(WALK, step, options);
      const walk = exports['walk'] as (n: number) => number;
      return [0, 1, 2, 3, 4, 10, 5000].map((n) => {
        const run = meter.run(UNREACHED, () => walk(n));
        expect(run).toMatchObject({ ok: true, value: raw(n) });
        return run.gasUsed;
      });
    };
    // Grants of millions (no refill in the loop) against a thousand (refills in most runs of it).
    const fast = await runs(0.001);
    expect(await runs(5)).toEqual(fast);
    expect(await runs(5, { chargeAhead: false })).toEqual(fast);
    expect(fast[6]).toBeGreaterThan(5000 * 10);
  });
});

describe('limits', () => {
  const loop =
    '(module (func (export "spin") (loop $l (br $l))) (func (export "one") (result i32) (i32.const 1)))';

  it('stops an infinite loop with GAS_EXHAUSTED at exactly the limit', async () => {
    const { run } = await metered(loop);
    for (const maxGas of [1, 10, 12_345, 1_000_000]) {
      const result = run('spin', [], { maxGas, maxExecutionMs: 10_000 });
      expect(result).toMatchObject({
        ok: false,
        error: { code: 'GAS_EXHAUSTED', gasUsed: maxGas, gasLimit: maxGas },
      });
    }
  });

  it('exhausts at once with maxGas 0, and succeeds with exactly enough', async () => {
    const { run } = await metered(loop);
    expect(run('one', [], { maxGas: 0, maxExecutionMs: 60_000 })).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED' },
    });
    expect(run('one', [], { maxGas: 1, maxExecutionMs: 60_000 })).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED' },
    });
    expect(run('one', [], { maxGas: 2, maxExecutionMs: 60_000 })).toMatchObject({
      ok: true,
      value: 1,
      gasUsed: 2,
    });
  });

  it.each([
    [{ gas: 5, timeMs: 50 }, 'maxGas'],
    [{ maxGas: 1.5, maxExecutionMs: 50 }, 'maxGas'],
    [{ maxGas: -1, maxExecutionMs: 50 }, 'maxGas'],
    [{ maxGas: 5, maxExecutionMs: Number.NaN }, 'maxExecutionMs'],
    [{ maxGas: 5, maxExecutionMs: '50' }, 'maxExecutionMs'],
    [{ maxGas: 5, maxExecutionMs: 50, maxMemoryBytes: -2 }, 'maxMemoryBytes'],
    [null, 'limits'],
  ])('refuses limits %o with INVALID_CONFIG naming %s, before the guest runs', async (limits, field) => {
    const { run, meter } = await metered(loop);
    const bad = limits as unknown as MeterLimits;
    expect(run('one', [], bad)).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'INVALID_CONFIG', field }) as unknown,
      gasUsed: 0,
      durationMs: 0,
    });
    let thrown: unknown;
    try {
      meter.begin(bad);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'SandboxOptionsError', error: { code: 'INVALID_CONFIG', field } });
    // Infinity is a time limit; the meter still runs.
    expect(run('one', [], { maxGas: 2, maxExecutionMs: Infinity })).toMatchObject({ ok: true, gasUsed: 2 });
  });

  it('checks limits a host changed since the last run, and frozen ones once', async () => {
    const { meter } = await metered(loop);
    const limits = { maxGas: 5, maxExecutionMs: 50 };
    meter.begin(limits);
    limits.maxGas = -1;
    expect(() => {
      meter.begin(limits);
    }).toThrow(/maxGas/);
    const frozen = Object.freeze({ maxGas: 5, maxExecutionMs: 50 });
    meter.begin(frozen);
    expect(() => {
      meter.begin(frozen);
    }).not.toThrow();
    expect(() => {
      meter.begin(Object.freeze({ maxGas: 5, maxExecutionMs: -1 }));
    }).toThrow(/maxExecutionMs/);
  });

  it('gives the same gasUsed on every run, whatever the refill chunk', async () => {
    const { run } = await metered(fixture('fibonacci'));
    const used = Array.from({ length: 5 }, () => gasOf(run('fib', [18])));
    expect(new Set(used).size).toBe(1);
    const exhausted = Array.from({ length: 3 }, () =>
      run('fib', [25], { maxGas: 100_000, maxExecutionMs: 10_000 }),
    );
    expect(exhausted.every((r) => !r.ok && r.error.code === 'GAS_EXHAUSTED')).toBe(true);
  });

  it('leaves the gas counter at 0 after a run, whatever the grant, with gasUsed unchanged', async () => {
    const bytes = instrument(fixture('fibonacci'));
    if (!bytes.ok) throw new Error(bytes.error.message);
    const meter = new Meter();
    const { instance } = await WebAssembly.instantiate(bytes.value.bytes, meter.imports);
    meter.attach(instance);
    const result = meter.run(LIMITS, () => (instance.exports['fib'] as (n: number) => bigint)(10));
    expect(result).toMatchObject({ ok: true, value: 55n });
    expect(controlOf(instance)(CONTROL_READ_GAS, 0)).toBe(0);
    expect(meter.gasUsed()).toBe(result.gasUsed);
    expect(meter.overspent()).toBeUndefined();
  });

  it('times out an infinite loop on the injected clock, and at once with maxExecutionMs 0', async () => {
    let clock = 0;
    const bytes = instrument(wat(loop));
    if (!bytes.ok) throw new Error();
    const meter = new Meter({ now: () => (clock += 1) });
    const { instance } = await WebAssembly.instantiate(bytes.value.bytes, meter.imports);
    meter.attach(instance);
    const spin = () => {
      (instance.exports['spin'] as () => void)();
    };
    const timedOut = meter.run({ maxGas: 1e15, maxExecutionMs: 5 }, spin);
    expect(timedOut).toMatchObject({ ok: false, error: { code: 'TIMEOUT', limitMs: 5 } });
    expect(
      timedOut.ok || (timedOut.error.code === 'TIMEOUT' && timedOut.error.elapsedMs),
    ).toBeGreaterThanOrEqual(5);
    expect(
      meter.run({ maxGas: 1e15, maxExecutionMs: 0 }, () => (instance.exports['one'] as () => number)()),
    ).toMatchObject({
      ok: false,
      error: { code: 'TIMEOUT', limitMs: 0 },
    });
  });

  it('reports the time limit to host code between guest calls', () => {
    let clock = 0;
    const meter = new Meter({ now: () => clock });
    meter.begin({ maxGas: 10, maxExecutionMs: 5 });
    expect(meter.checkTime()).toBeUndefined();
    clock = 6;
    expect(meter.checkTime()).toMatchObject({ code: 'TIMEOUT', elapsedMs: 6, limitMs: 5 });
    expect(meter.elapsedMs()).toBe(6);
  });

  it("charges memory.grow per page and traps past the memory's maximum with MEMORY_EXCEEDED", async () => {
    const source =
      '(module (memory 1 3) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))';
    const trapping = await metered(source, { memoryLimitPages: 3 });
    expect(trapping.run('grow', [1])).toMatchObject({ ok: true, value: 1, gasUsed: 1 + 2 + 64 });
    expect(trapping.run('grow', [0])).toMatchObject({ ok: true, value: 2, gasUsed: 3 });
    expect(trapping.run('grow', [5], { ...LIMITS, maxMemoryBytes: 3 * 65536 })).toMatchObject({
      ok: false,
      error: { code: 'MEMORY_EXCEEDED', memoryUsed: 7 * 65536, memoryLimit: 3 * 65536 },
    });
    const lenient = await metered(source, { memoryLimitPages: 3, memoryGrowFailure: 'return-minus-one' });
    expect(lenient.run('grow', [5])).toMatchObject({ ok: true, value: -1 });
    // Growth past the module's own maximum, still under the limit, returns -1 as usual.
    const ownMaximum = await metered(source, { memoryLimitPages: 100 });
    expect(ownMaximum.run('grow', [5])).toMatchObject({ ok: true, value: -1 });
    expect(ownMaximum.run('grow', [2])).toMatchObject({ ok: true, value: 1 });
  });

  it('reports MEMORY_EXCEEDED for the run that asked, not for a later trap of the guest', async () => {
    const { run, instance, meter } = await metered(
      `(module (memory 1)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "trap") unreachable))`,
      { memoryLimitPages: 2 },
    );
    expect(run('grow', [5])).toMatchObject({ ok: false, error: { code: 'MEMORY_EXCEEDED' } });
    expect(run('trap')).toMatchObject({ ok: false, error: { code: 'WASM_TRAP' } });
    // The grow that failed said how many bytes it asked for; the flag is cleared when read.
    expect(run('grow', [5])).toMatchObject({ error: { code: 'MEMORY_EXCEEDED', memoryUsed: 6 * 65536 } });
    expect(controlOf(instance)(CONTROL_READ_ABORT_ARGUMENT, 0)).toBe(6 * 65536);
    expect(controlOf(instance)(CONTROL_TAKE_ABORT, 0)).toBe(0);
    // An instance whose abort flag is set (by a run nobody read, or a restore) starts clear once attached.
    meter.begin(LIMITS);
    expect(() => (instance.exports.grow as (pages: number) => number)(5)).toThrow(WebAssembly.RuntimeError);
    meter.attach(instance);
    expect(run('trap')).toMatchObject({ ok: false, error: { code: 'WASM_TRAP' } });
  });

  it('leaves the counter to the next run when asked, and clears it when ended again', async () => {
    const { instance, meter } = await metered('(module (func (export "f") (drop (i32.const 1))))');
    const counter = () => controlOf(instance)(CONTROL_READ_GAS, 0);
    meter.begin(LIMITS);
    (instance.exports.f as () => void)();
    meter.end(false);
    const used = meter.gasUsed();
    expect(used).toBeGreaterThan(0);
    expect(counter()).not.toBe(0);
    meter.end(false);
    expect(meter.gasUsed()).toBe(used);
    meter.end();
    expect(counter()).toBe(0);
    expect(meter.gasUsed()).toBe(used);
    // Runs that go on from what the last one left, or from a counter set from elsewhere (then attached
    // again), count exactly the same.
    const runOnce = () => {
      meter.begin(LIMITS);
      (instance.exports.f as () => void)();
      meter.end(false);
      return meter.gasUsed();
    };
    expect([runOnce(), runOnce(), runOnce()]).toEqual([used, used, used]);
    controlOf(instance)(CONTROL_WRITE_GAS, 12345);
    meter.attach(instance);
    expect(runOnce()).toBe(used);
    expect(counter()).toBeLessThan(12345);
  });

  it('charges bulk memory per 64 bytes and table operations per element', async () => {
    const { run } = await metered(`(module
      (memory 1)
      (table 10 funcref)
      (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 7) (local.get 0)))
      (func (export "copy") (param i32) (memory.copy (i32.const 100) (i32.const 0) (local.get 0)))
      (func (export "tfill") (param i32) (table.fill (i32.const 0) (ref.null func) (local.get 0))))`);
    // entry 1 + three operands 3 + the instruction 1 = 5, plus the size-dependent part
    expect(gasOf(run('fill', [0]))).toBe(5);
    expect(gasOf(run('fill', [1]))).toBe(6);
    expect(gasOf(run('fill', [64]))).toBe(6);
    expect(gasOf(run('fill', [65]))).toBe(7);
    expect(gasOf(run('fill', [65536]))).toBe(5 + 1024);
    expect(gasOf(run('copy', [6400]))).toBe(5 + 100);
    expect(gasOf(run('tfill', [10]))).toBe(5 + 10);
    // A memory.fill bomb cannot be bought for one unit:
    expect(run('fill', [65536], { maxGas: 100, maxExecutionMs: 60_000 })).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED' },
    });
  });

  it('catches an overspend in straight-line code after the fact, and before any host call', async () => {
    const calls: number[] = [];
    const straight = Array.from({ length: 50 }, () => '(drop (i32.const 1))').join(' ');
    const { run } = await metered(
      `(module
        (import "env" "note" (func $note (param i32)))
        (func (export "straight") (param i32) (result i32)
          (drop (br_if 0 (i32.const 7) (local.get 0)))
          ${straight}
          (i32.const 1))
        (func (export "then_call") (param i32)
          (br_if 0 (local.get 0))
          ${straight}
          (call $note (i32.const 42))))`,
      {},
      { env: { note: (x: number) => void calls.push(x) } },
    );
    // Entry block: 1 + 3 (const, local.get, br_if), checked; then 102 more, not checked until the end.
    expect(run('straight', [0])).toMatchObject({ ok: true, value: 1, gasUsed: 106 });
    expect(run('straight', [0], { maxGas: 105, maxExecutionMs: 60_000 })).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED', gasUsed: 105 },
    });
    expect(run('straight', [1], { maxGas: 5, maxExecutionMs: 60_000 })).toMatchObject({ ok: true, value: 7 });
    // The block that calls the host checks first: the host is never called on a negative balance.
    expect(run('then_call', [0], { maxGas: 50, maxExecutionMs: 60_000 })).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED' },
    });
    expect(calls).toEqual([]);
    expect(run('then_call', [0])).toMatchObject({ ok: true });
    expect(calls).toEqual([42]);
  });

  it('leaves the check before a call of a defined function to its entry, and still stops the guest there', async () => {
    const straight = Array.from({ length: 50 }, () => '(drop (i32.const 1))').join(' ');
    const { run, instance } = await metered(
      `(module
        (memory (export "memory") 1)
        (func $inner (i32.store (i32.const 4) (i32.const 2)))
        (func (export "outer") (param i32)
          (if (local.get 0) (then
            ${straight}
            (i32.store (i32.const 0) (i32.const 1))
            (call $inner)))))`,
    );
    // The body of the `if` is straight-line code, paid on entry without a check: it runs on the
    // overdraft, as the bound says; the callee's entry check stops the guest before its body.
    expect(run('outer', [1], { maxGas: 50, maxExecutionMs: 60_000 })).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED', gasUsed: 50 },
    });
    const memory = instance.exports['memory'] as WebAssembly.Memory;
    expect([...new Uint8Array(memory.buffer, 0, 8)]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    // Entry 1 + local.get and if 2, the drops 100, the store 3, the call 1; inner: entry 1 + 3.
    expect(run('outer', [1])).toMatchObject({ ok: true, gasUsed: 111 });
  });

  it("leaves the check before an indirect call to the callee's entry when the table holds only the module's functions", async () => {
    // `run` keeps the balance in a local (its early exits give back more stores than its calls
    // need), so the counter must be stored before each indirect call for the callee to read it.
    const exits = Array.from({ length: 4 }, () => '(block (br_if 0 (local.get $n)) (drop (i32.const 1)))');
    const source = `(module
      (type $t (func (param i32) (result i32)))
      (table 2 funcref)
      (elem (i32.const 0) $inc $twice)
      (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func $twice (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1)))
      (func (export "run") (param $n i32) (result i32) (local $acc i32)
        (loop $next
          ${exits.join(' ')}
          (local.set $acc (call_indirect (type $t) (local.get $acc) (i32.and (local.get $n) (i32.const 1))))
          (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $acc)))`;
    const ahead = await metered(source);
    const strict = await metered(source, { chargeAhead: false });
    for (const n of [1, 2, 7, 100]) {
      const [fast, slow] = [ahead.run('run', [n]), strict.run('run', [n])];
      expect(fast.ok && slow.ok).toBe(true);
      expect([fast.ok && fast.value, fast.gasUsed]).toEqual([slow.ok && slow.value, slow.gasUsed]);
    }
    // The callee's entry check still stops a guest out of gas.
    expect(ahead.run('run', [1000], { maxGas: 200, maxExecutionMs: 60_000 })).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED', gasUsed: 200 },
    });
    // One check fewer than with the same table exported: the block that calls compares the balance
    // with zero no more (i64.const 0; i64.lt_s, which the guest's own code does not hold).
    const checks = (source: string) => {
      const result = instrument(wat(source));
      if (!result.ok) throw new Error(result.error.message);
      return countSequence(result.value.bytes, [0x42, 0x00, 0x53]);
    };
    expect(checks(source.replace('(table 2', '(table (export "t") 2')) - checks(source)).toBe(1);
  });

  it('checks before an indirect call through a table that may hold a host function', async () => {
    const straight = Array.from({ length: 50 }, () => '(drop (i32.const 1))').join(' ');
    const calls: number[] = [];
    type Exports = Record<string, unknown>;
    const variants: [string, string, (exports: Exports, table: WebAssembly.Table) => void][] = [
      ['named by its segment', '(table 1 funcref) (elem (i32.const 0) $note)', () => undefined],
      [
        'exported, and set by the host',
        '(table (export "t") 1 funcref) (elem (i32.const 0) $own)',
        (exports) => {
          (exports['t'] as WebAssembly.Table).set(0, exports['note']);
        },
      ],
      [
        'named by an expression',
        '(table 1 funcref) (elem (i32.const 0) funcref (ref.func $note))',
        () => undefined,
      ],
      [
        'imported (beside one of its own)',
        '(import "env" "t" (table 1 funcref)) (table 1 funcref)',
        (exports, table) => {
          table.set(0, exports['note']);
        },
      ],
      [
        'written by the guest',
        '(table 1 funcref) (elem declare func $note) (func (export "fill") (table.set (i32.const 0) (ref.func $note)))',
        (exports) => {
          (exports['fill'] as () => void)();
        },
      ],
    ];
    for (const [name, declaration, fill] of variants) {
      const source = `(module
        (import "env" "note" (func $note (param i32)))
        ${declaration}
        (export "note" (func $note))
        (func $own (param i32))
        (func (export "then_call") (param i32)
          (if (local.get 0) (then
            ${straight}
            (call_indirect (param i32) (i32.const 42) (i32.const 0))))))`;
      const table = new WebAssembly.Table({ initial: 1, element: 'anyfunc' });
      const { run, instance } = await metered(
        source,
        {},
        { env: { note: (x: number) => void calls.push(x), t: table } },
      );
      fill(instance.exports, table);
      calls.length = 0;
      // The entry's check passes; the arm's 104 overdraw 50, and only a check before the call stops it.
      expect(run('then_call', [1], { maxGas: 50, maxExecutionMs: 60_000 }), name).toMatchObject({
        ok: false,
        error: { code: 'GAS_EXHAUSTED' },
      });
      expect(calls, name).toEqual([]);
      expect(run('then_call', [1]), name).toMatchObject({ ok: true });
      expect(calls, name).toEqual([42]);
    }
  });

  it("cannot be caught by the guest's exception handlers", async () => {
    const { run } = await metered(`(module
      (tag $e)
      (func $spin (loop $l (br $l)))
      (func (export "sneaky") (result i32)
        (try (result i32) (do (call $spin) (i32.const 0)) (catch_all (i32.const 1)))))`);
    expect(run('sneaky', [], { maxGas: 1000, maxExecutionMs: 60_000 })).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED' },
    });
  });
});

describe('what meterings share: the transient output buffer, the scan lists', () => {
  const sorted = decodeModule(fixture('sort'));
  // A body with `try` after another: metering starts the module again without paying ahead.
  const restarted = decodeModule(
    wat(`(module
      (func (export "plain") (result i32) (i32.add (i32.const 1) (i32.const 2)))
      (func (export "guarded") (result i32)
        (try (result i32) (do (i32.const 0)) (catch_all (i32.const 1)))))`),
  );
  const must = <T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }) => {
    if (!result.ok) throw new Error(result.error.message);
    return result.value;
  };
  const firstBody = (module: ReturnType<typeof decodeModule>) => module.code[0]?.code as Uint8Array;

  it('encodes to the same bytes as a metering that keeps its own buffer, a restarted one included', () => {
    for (const module of [sorted, restarted]) {
      const kept = encodeModule(must(meterModule(module)));
      expect(encodeModule(must(meterModule(module, { transientOutput: true })))).toEqual(kept);
      // Again, into the buffer the first one left.
      expect(encodeModule(must(meterModule(module, { transientOutput: true })))).toEqual(kept);
    }
  });

  it('is written where the last transient metering wrote, so it must be encoded before the next one', () => {
    const first = must(meterModule(sorted, { transientOutput: true }));
    const before = firstBody(first).slice();
    must(meterModule(restarted, { transientOutput: true }));
    expect(firstBody(first).buffer).toBe(
      firstBody(must(meterModule(sorted, { transientOutput: true }))).buffer,
    );
    must(meterModule(restarted, { transientOutput: true }));
    expect(firstBody(first)).not.toEqual(before);
  });

  it('is the same for a metering started by a rider in the middle of another (each has its own lists and buffer)', () => {
    const alone = encodeModule(must(meterModule(sorted)));
    const innerAlone = encodeModule(must(meterModule(restarted)));
    for (const transientOutput of [false, true]) {
      const inner: Uint8Array[] = [];
      // On the outer module's last body (the others written), a rider meters another module whole,
      // between two instructions.
      const nesting = (i: number) =>
        i === sorted.code.length - 1
          ? [
              {
                scan: {
                  visit: () => {
                    if (inner.length === 0)
                      inner.push(encodeModule(must(meterModule(restarted, { transientOutput }))));
                  },
                },
                finish: () => ({}),
              },
            ]
          : [];
      const outer = encodeModule(must(meterModule(sorted, { riders: nesting, transientOutput })));
      expect(inner, `transientOutput: ${transientOutput}`).toEqual([innerAlone]);
      expect(outer, `transientOutput: ${transientOutput}`).toEqual(alone);
    }
  });

  it('is not the default: a result is left alone by the meterings after it', () => {
    const first = must(meterModule(sorted));
    const before = firstBody(first).slice();
    must(meterModule(restarted));
    must(meterModule(restarted, { transientOutput: true }));
    expect(firstBody(first)).toEqual(before);
    expect(firstBody(first).buffer).not.toBe(firstBody(must(meterModule(sorted))).buffer);
  });
});

describe('structure of the instrumented module', () => {
  it('shifts every function reference past the added import', async () => {
    const source = `(module
      (import "env" "twice" (func $twice (param i32) (result i32)))
      (type $t (func (result i32)))
      (table 2 funcref)
      (elem (i32.const 0) $a $b)
      (elem declare func $b)
      (global $g funcref (ref.func $a))
      (func $a (result i32) (i32.const 10))
      (func $b (result i32) (i32.const 20))
      (func (export "indirect") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
      (func (export "through_import") (result i32) (call $twice (call $a)))
      (start $start)
      (func $start (drop (call $b))))`;
    const imports = { env: { twice: (x: number) => 2 * x } };
    const { run } = await metered(source, {}, imports);
    expect(run('indirect', [0])).toMatchObject({ ok: true, value: 10 });
    expect(run('indirect', [1])).toMatchObject({ ok: true, value: 20 });
    expect(run('through_import')).toMatchObject({ ok: true, value: 20 });
    const result = instrument(wat(source));
    if (!result.ok) throw new Error(result.error.message);
    const module = decodeModule(result.value.bytes);
    expect(module.imports.map((i) => `${i.module}.${i.name}`)).toEqual(['env.twice', '__ri_metering.refill']);
    expect(module.start).toBe(6);
  });

  it('points a ref.func global initializer at the same function after the shift (ref_func.wast)', async () => {
    const source = `(module
      (import "env" "twice" (func $twice (param i32) (result i32)))
      (type $t (func (result i32)))
      (table 1 funcref)
      (global $g funcref (ref.func $a))
      (global (export "exported") funcref (ref.func $b))
      (func $a (result i32) (i32.const 10))
      (func $b (result i32) (i32.const 20))
      (func (export "via_global") (result i32)
        (table.set (i32.const 0) (global.get $g))
        (call_indirect (type $t) (i32.const 0))))`;
    const imports = { env: { twice: (x: number) => 2 * x } };
    const { run, instance } = await metered(source, {}, imports);
    expect(run('via_global')).toMatchObject({ ok: true, value: 10 });
    const exported = (instance.exports['exported'] as WebAssembly.Global).value as () => number;
    expect(exported()).toBe(20);
    const result = instrument(wat(source));
    if (!result.ok) throw new Error(result.error.message);
    const inits = decodeModule(result.value.bytes).globals.map((g) => g.init[0]?.immediate);
    // $a and $b were 1 and 2; the refill import takes 1, so they are 2 and 3.
    expect(inits.slice(0, 2)).toEqual([2, 3]);
  });

  it('keeps the name section true to the new indices', () => {
    const bytes = fixture('sha256');
    const before = readNameSection(decodeModule(bytes))!;
    const result = instrument(bytes);
    if (!result.ok) throw new Error(result.error.message);
    const after = readNameSection(decodeModule(result.value.bytes))!;
    for (const [index, name] of before.functions) expect(after.functions.get(index + 1)).toBe(name);
    expect(after.globals).toEqual(before.globals);
  });

  it('handles tail calls, multi-value blocks, br_table and returns from nested blocks', async () => {
    const source = `(module
      (func $sum (param $n i64) (param $acc i64) (result i64)
        (if (result i64) (i64.eqz (local.get $n))
          (then (local.get $acc))
          (else (return_call $sum (i64.sub (local.get $n) (i64.const 1)) (i64.add (local.get $acc) (local.get $n))))))
      (func (export "tail") (param i64) (result i64) (return_call $sum (local.get 0) (i64.const 0)))
      (func (export "pair") (param i32) (result i32 i32)
        (block (result i32 i32) (local.get 0) (i32.const 2) (br 0)))
      (func (export "switch") (param i32) (result i32)
        (block $c (block $b (block $a (br_table $a $b $c (local.get 0))) (return (i32.const 10))) (return (i32.const 20)))
        (i32.const 30))
      (func (export "deep") (param i32) (result i32)
        (block (block (block (if (local.get 0) (then (return (i32.const 1))))))) (i32.const 2)))`;
    const { run } = await metered(source);
    expect(run('tail', [100_000n])).toMatchObject({ ok: true, value: 5_000_050_000n });
    expect(run('pair', [7])).toMatchObject({ ok: true, value: [7, 2] });
    expect([0, 1, 2, 9].map((i) => run('switch', [i]))).toMatchObject([
      { value: 10 },
      { value: 20 },
      { value: 30 },
      { value: 30 },
    ]);
    expect([1, 0].map((i) => run('deep', [i]))).toMatchObject([{ value: 1 }, { value: 2 }]);
  });

  it('refuses an invalid module rather than make it valid by what it adds (call.wast, exports.wast, local_get.wast)', () => {
    // Each index is one past the end; after instrumentation it would name the fuel helper,
    // the gas counter or the balance local.
    const invalid = [
      [
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x10, 0x01,
        0x0b,
      ],
      [0x07, 0x05, 0x01, 0x01, 0x67, 0x03, 0x00],
      [
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x07, 0x01, 0x05, 0x00, 0x20, 0x00,
        0x1a, 0x0b,
      ],
    ].map((section) => Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section));
    for (const bytes of invalid) {
      expect(WebAssembly.validate(bytes)).toBe(false);
      const result = instrument(bytes);
      expect(result.ok || result.error).toMatchObject({ code: 'INVALID_MODULE', reason: /fails validation/ });
    }
  });

  it('turns a body that cannot take another local into INVALID_MODULE, not an exception', () => {
    const module = decodeModule(fixture('add'));
    const full = [{ count: 0xffff_ffff - 1, type: ValType.i32 }];
    const code = module.code.map((body) => ({ ...body, locals: full }));
    const result = meterModule({ ...module, code });
    expect(result.ok || result.error).toMatchObject({ code: 'INVALID_MODULE', reason: /not a u32/ });
  });

  it('exports one function for the counters, which reads and writes them as numbers, and no global', async () => {
    for (const source of ['(module (func (export "f")))', '(module (memory 1) (func (export "f")))']) {
      const { instance } = await metered(source);
      expect(Object.keys(instance.exports).sort()).toEqual([CONTROL_EXPORT, 'f']);
      const control = controlOf(instance);
      for (const value of [0, 7, -12, 2 ** 52, -(2 ** 40)]) {
        expect(control(CONTROL_WRITE_GAS, value)).toBe(0);
        expect(control(CONTROL_READ_GAS, 0)).toBe(value);
      }
      expect([control(CONTROL_TAKE_ABORT, 0), control(CONTROL_READ_ABORT_ARGUMENT, 0)]).toEqual([0, 0]);
    }
  });

  it("adds its counters after the module's own globals, where meteringGlobals says", () => {
    const module = decodeModule(
      wat('(module (import "env" "g" (global i32)) (global (mut i32) (i32.const 0)) (func (export "f")))'),
    );
    const metered = meterModule(module);
    if (!metered.ok) throw new Error(metered.error.message);
    expect(meteringGlobals(module)).toEqual([2, 3, 4]);
    // Defined globals follow the one import: the counter (i64), the abort flag (i32), its argument (i64).
    expect(metered.value.globals.slice(1).map((g) => [g.type.valueType, g.type.mutable])).toEqual([
      [ValType.i64, true],
      [ValType.i32, true],
      [ValType.i64, true],
    ]);
  });

  it('refuses modules that use its reserved names, and bad cost models', () => {
    const clash = instrument(wat('(module (global (export "__ri_gas") i32 (i32.const 0)))'));
    expect(clash.ok || clash.error).toMatchObject({
      code: 'INVALID_MODULE',
      reason: 'the module uses the reserved export "__ri_gas"',
    });
    const control = instrument(wat('(module (func (export "__ri_meter")))'));
    expect(control.ok || control.error.message).toMatch(/reserved export "__ri_meter"/);
    const imported = instrument(wat('(module (import "__ri_metering" "refill" (func)))'));
    expect(imported.ok || imported.error.message).toMatch(/reserved import module/);
    expect(instrument(new Uint8Array([1, 2, 3])).ok).toBe(false);
    const badBody = decodeModule(fixture('add'));
    const corrupted = {
      ...badBody,
      code: [{ locals: [], code: new Uint8Array([0xff]) }, ...badBody.code.slice(1)],
    };
    expect(meterModule(corrupted).ok || 'failed').toBe('failed');
    expect(resolveCostModel({ defaultCost: -1 })).toMatchObject({
      ok: false,
      error: { field: 'costs.defaultCost' },
    });
    expect(resolveCostModel({ instructions: { 'i32.nope': 1 } })).toMatchObject({
      ok: false,
      error: { field: 'costs.instructions.i32.nope' },
    });
    expect(resolveCostModel({ instructions: { 'i32.add': 1.5 } })).toMatchObject({ ok: false });
    const unknown = { call: -1 } as unknown as Partial<CostModel>;
    expect(resolveCostModel(unknown)).toMatchObject({ ok: false, error: { field: 'costs.call' } });
    for (const bad of [5, null, [1]] as unknown as Partial<CostModel>[])
      expect(resolveCostModel(bad)).toMatchObject({ ok: false, error: { field: 'costs' } });
    const listed = { instructions: ['i32.add'] } as unknown as Partial<CostModel>;
    expect(resolveCostModel(listed)).toMatchObject({ ok: false, error: { field: 'costs.instructions' } });
    expect(resolveCostModel({ defaultCost: '2' as unknown as number })).toMatchObject({
      error: { reason: 'must be a non-negative integer, got "2"' },
    });
    expect(instrument(fixture('add'), { costs: { functionEntry: Number.NaN } }).ok).toBe(false);
  });

  it('refuses to attach to an instance that is not instrumented', async () => {
    const { instance } = await WebAssembly.instantiate(fixture('add'));
    expect(() => {
      new Meter().attach(instance);
    }).toThrow(/not an instrumented instance/);
  });
});
