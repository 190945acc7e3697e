/**
 * The sandbox's performance suite: every operation of the public API against
 * the closest raw WebAssembly baseline, timed in the same run (the machines
 * are shared and noisy, so only ratios and counts mean much), plus how many
 * live instances one process holds. `ri-sandbox bench` and `pnpm bench` both
 * run it.
 */
import type { SandboxInstance } from '@ri-sandbox/core';
import { Meter } from '@ri-sandbox/metering';
import { createWasmSandbox } from '../sandbox';
import { transformForLoad } from './transforms';

export { transformForLoad };

/** The modules the suite runs: `add(i32, i32)`, `fib(i32) -> i64`, a counter, and one to time `load` with. */
export interface BenchModules {
  readonly add: Uint8Array;
  readonly fibonacci: Uint8Array;
  /** Exports `add(n) -> i32` and `get() -> i32` over a hidden global. */
  readonly counter: Uint8Array;
  /** One page of memory that `fill(byte) -> i32` fills: the 1-page snapshot. */
  readonly page: Uint8Array;
  /**
   * A module of realistic size (about 10 KB) for `load`, with what it is. It
   * imports nothing: the suite also instantiates it raw, the floor of a load
   * of a module already compiled.
   */
  readonly load: { readonly bytes: Uint8Array; readonly label: string };
}

/** One row: the operation, its time (or a count), the baseline, and the ratio against it. */
export interface BenchRow {
  readonly operation: string;
  readonly value: string;
  readonly baseline: string;
  readonly baselineValue: string;
  readonly ratio: string;
  readonly target: string;
}

/** The steps the suite reports progress on, in order. */
export const BENCH_STEPS = [
  'create',
  'snapshot and restore',
  'load',
  'execute',
  'end to end',
  'live instances',
] as const;

/** Options: where progress goes, and how many live instances to hold. */
export interface BenchOptions {
  /** Called as each step starts: its name, its number (from 1) and how many there are. */
  readonly progress?: (step: (typeof BENCH_STEPS)[number], index: number, total: number) => void;
  readonly liveInstances?: number;
}

/** The median of `values`. */
export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/**
 * The calls {@link compare} makes, in order: `warmup` untimed rounds, then
 * `rounds` timed ones, of every candidate, each round starting with the next
 * candidate (so that none is always the one that runs after the previous
 * round's garbage, whose collection can give the heap's pages back to the
 * system, for the next allocations to fault in again).
 */
function* rotation<F>(
  candidates: Record<string, F>,
  rounds: number,
  warmup: number,
): Generator<{ readonly name: string; readonly fn: F; readonly timed: boolean }> {
  const entries = Object.entries(candidates);
  for (let round = 0; round < warmup + rounds; round++)
    for (let k = 0; k < entries.length; k++) {
      const [name, fn] = entries[(round + k) % entries.length] as [string, F];
      yield { name, fn, timed: round >= warmup };
    }
}

/** Each candidate's median of `samples`. */
function medians(samples: Map<string, number[]>): Record<string, number> {
  return Object.fromEntries([...samples].map(([name, times]) => [name, median(times)]));
}

/**
 * Median milliseconds per call of each candidate, timed `rounds` times after
 * `warmup` untimed rounds, interleaved so that machine noise hits them alike
 * (see {@link rotation}).
 */
export function compare(
  candidates: Record<string, () => unknown>,
  { rounds = 15, warmup = 3, repeat = 1 } = {},
): Record<string, number> {
  const samples = new Map(Object.keys(candidates).map((name) => [name, [] as number[]]));
  for (const { name, fn, timed } of rotation(candidates, rounds, warmup)) {
    const started = performance.now();
    for (let i = 0; i < repeat; i++) fn();
    if (timed) samples.get(name)?.push((performance.now() - started) / repeat);
  }
  return medians(samples);
}

/** {@link compare} for asynchronous candidates: each call is awaited before the next starts. */
export async function compareAsync(
  candidates: Record<string, () => Promise<unknown>>,
  { rounds = 15, warmup = 3 } = {},
): Promise<Record<string, number>> {
  const samples = new Map(Object.keys(candidates).map((name) => [name, [] as number[]]));
  for (const { name, fn, timed } of rotation(candidates, rounds, warmup)) {
    const started = performance.now();
    await fn();
    if (timed) samples.get(name)?.push(performance.now() - started);
  }
  return medians(samples);
}

/** Median milliseconds of `rounds` sequential runs of an asynchronous `fn`, after `warmup` untimed ones. */
export async function timeAsync(fn: () => Promise<unknown>, rounds: number, warmup = 0): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + rounds; i++) {
    const started = performance.now();
    await fn();
    if (i >= warmup) samples.push(performance.now() - started);
  }
  return median(samples);
}

/** Milliseconds for people: ns, µs or ms. */
export function formatMs(value: number): string {
  if (value < 0.001) return `${(value * 1e6).toFixed(0)} ns`;
  return value < 1 ? `${(value * 1000).toFixed(1)} µs` : `${value.toFixed(2)} ms`;
}

/** Cached loads before they are timed (see where they are). */
const CACHED_LOAD_WARMUP = 300;

/** Loads before the first load is timed (see where it is), and how many are timed. */
const FIRST_LOAD_WARMUP = 150;
const FIRST_LOAD_ROUNDS = 41;

/**
 * `bytes` with a custom section named after `n` appended: the same module, in bytes the engine has not
 * seen. V8 keeps compiled modules by their bytes, so compiling bytes it compiled before is a lookup,
 * not a compilation (5 to 10 µs for the 18 KB module, synchronously): a first load, and the compilation
 * it is compared with, must be of bytes never seen. Custom sections pass through every transform.
 */
export function unseen(bytes: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const name = new TextEncoder().encode(`ri-sandbox-bench-${n}`);
  const out = new Uint8Array(bytes.length + 3 + name.length);
  out.set(bytes);
  out.set([0, 1 + name.length, name.length], bytes.length);
  out.set(name, bytes.length + 3);
  return out;
}

function row(
  operation: string,
  value: number,
  baseline: string,
  baselineValue: number,
  target: string,
): BenchRow {
  return {
    operation,
    value: formatMs(value),
    baseline,
    baselineValue: formatMs(baselineValue),
    ratio: `${(value / baselineValue).toFixed(2)}x`,
    target,
  };
}

/**
 * The time limit of the instances that execute: the figures are of the work, and a busy machine must
 * not turn an execution into TIMEOUT (which would also end it early and flatter the figure).
 */
const GENEROUS_MS = 60_000;

function must<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/**
 * Median milliseconds of what the engine does in a first load of `bytes`, whatever the transforms
 * cost: a compilation (synchronous, as a load of a small module does) and an instantiation of what the
 * transforms make of it (a load does not validate its input: the compilation validates the output).
 * Each round takes bytes the engine has not seen (`nextVariant` numbers them), transformed beforehand.
 */
async function timeLoadFloor(bytes: Uint8Array, nextVariant: () => number): Promise<number> {
  const rounds = 15;
  const warmup = 30;
  // Copies: the transform's output is valid only until its next call.
  const outputs = Array.from({ length: rounds + warmup }, () =>
    must(transformForLoad(unseen(bytes, nextVariant()))).slice(),
  );
  const { imports } = new Meter();
  let round = 0;
  return timeAsync(
    () => {
      const output = outputs[round++] as Uint8Array<ArrayBuffer>;
      return Promise.resolve(new WebAssembly.Instance(new WebAssembly.Module(output), imports));
    },
    rounds,
    warmup,
  );
}

/** Runs the suite over `modules` and returns its rows, in order. */
export async function runSandboxBench(
  modules: BenchModules,
  options: BenchOptions = {},
): Promise<BenchRow[]> {
  const report = options.progress ?? (() => undefined);
  const progress = (step: (typeof BENCH_STEPS)[number]) => {
    report(step, BENCH_STEPS.indexOf(step) + 1, BENCH_STEPS.length);
  };
  const rows: BenchRow[] = [];
  const sandbox = createWasmSandbox();
  const loadedWith = async (bytes: Uint8Array, config = {}) => {
    const instance = must(sandbox.create({ maxExecutionMs: GENEROUS_MS, ...config }));
    must(await sandbox.load(instance, bytes));
    return instance;
  };

  progress('create');
  let created = 0;
  const create = compare(
    {
      sandbox: () => {
        for (let i = 0; i < 100; i++) sandbox.create({ maxGas: 1000 + (created++ % 7) });
      },
      baseline: () => {
        for (let i = 0; i < 100; i++) new WebAssembly.Memory({ initial: 0 });
      },
    },
    { rounds: 11 },
  );
  rows.push(
    row(
      'create',
      (create['sandbox'] ?? 0) / 100,
      'new WebAssembly.Memory',
      (create['baseline'] ?? 0) / 100,
      '< 50 µs',
    ),
  );

  // Before the loads: the instances they leave behind, until collected, make every allocation of a
  // buffer slower (a copy of 64 KiB measured 37 to 44 µs after them, 7 to 8 µs before), the copy
  // this step is compared with included. Its rows are shown after the execute rows all the same.
  progress('snapshot and restore');
  const page = await loadedWith(modules.page);
  must(sandbox.execute(page, 'fill', 7));
  const saved = must(sandbox.snapshot(page));
  const rawMemory = new Uint8Array(65536).fill(1);
  // Buffers kept from one call to the next: a snapshot written into one, and a copy into the other.
  const into = new Uint8Array(2 * rawMemory.length);
  const copiedInto = new Uint8Array(rawMemory.length);
  const snapshots = compare(
    {
      snapshot: () => must(sandbox.snapshot(page)),
      snapshotInto: () => must(sandbox.snapshot(page, { into })),
      restore: () => {
        must(sandbox.restore(page, saved));
      },
      copy: () => {
        new Uint8Array(rawMemory.length).set(rawMemory);
      },
      copyInto: () => {
        copiedInto.set(rawMemory);
      },
    },
    { rounds: 15, repeat: 100 },
  );
  const copy = snapshots['copy'] ?? 0;
  const snapshotRows = [
    row('snapshot (1 page)', snapshots['snapshot'] ?? 0, 'copy of 64 KiB', copy, '< 100 µs'),
    row(
      'snapshot (1 page) into a buffer kept',
      snapshots['snapshotInto'] ?? 0,
      'copy of 64 KiB into a buffer kept',
      snapshots['copyInto'] ?? 0,
      '',
    ),
    row('restore (1 page)', snapshots['restore'] ?? 0, 'copy of 64 KiB', copy, '< 100 µs'),
  ];

  progress('load');
  const { bytes, label } = modules.load;
  // Loads as a process that has loaded modules before makes them (warm code: the transforms are
  // JavaScript that V8 optimizes as it runs, and loads 31 to 60 of a process read 1.3 to 1.5 times what
  // loads after the 150th do), of bytes neither the sandbox nor the engine has seen (see `unseen`), like
  // the compilations. Each instance is destroyed, as a host that is done with it does: instances left
  // alive keep their memories reserved until collected, and a hundred or so of those make the engine
  // collect the whole heap at the next new memory (stalls of 10 to 50 ms).
  // Each first load alternates with the compilation it is compared with, so that both meet the same
  // machine (41 of each: one run's ratio of 15 loads timed apart from 15 compilations read anywhere
  // from 3.6x to 5.0x on an idle machine).
  let variant = 0;
  const firsts = await compareAsync(
    {
      load: async () => {
        const fresh = createWasmSandbox();
        const instance = must(fresh.create({ maxGas: 1e9 }));
        must(await fresh.load(instance, unseen(bytes, variant++)));
        must(fresh.destroy(instance));
      },
      compile: () => WebAssembly.compile(unseen(bytes, variant++)),
    },
    { rounds: FIRST_LOAD_ROUNDS, warmup: FIRST_LOAD_WARMUP },
  );
  const firstLoad = firsts['load'] ?? 0;
  const compile = firsts['compile'] ?? 0;
  const reused = must(sandbox.create({ maxGas: 1e9 }));
  // A cached load compares the bytes with the kept copy, in a loop V8 runs in its baseline tiers until
  // it has seen it often enough: 55 to 60 µs for the 18 KB module there, 3 to 6 µs optimized. Within 30
  // loads it sometimes had and sometimes had not (timed at 15 or at 65 µs), so this times them warm,
  // as a host that loads often runs them.
  const cachedLoad = await timeAsync(() => sandbox.load(reused, bytes), 15, CACHED_LOAD_WARMUP);
  const compileSeen = await timeAsync(() => WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>), 15, 30);
  const compiledRaw = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  // Through a promise like the loads, so that each is timed the same way.
  const instantiateRaw = await timeAsync(
    () => Promise.resolve(new WebAssembly.Instance(compiledRaw)),
    15,
    30,
  );
  const loadFloor = await timeLoadFloor(bytes, () => variant++);
  const baseline = 'WebAssembly.compile, bytes not seen before';
  rows.push(row(`first load (${label})`, firstLoad, baseline, compile, '< 5 ms (10 KB)'));
  rows.push(
    row(
      `first load (${label})`,
      firstLoad,
      'compilation and instantiation of the transformed bytes (the floor)',
      loadFloor,
      '',
    ),
  );
  rows.push(row('load again (compiled module cached)', cachedLoad, baseline, compile, ''));
  rows.push(
    row(
      'load again (compiled module cached)',
      cachedLoad,
      "WebAssembly.compile, V8's own cache",
      compileSeen,
      '',
    ),
  );
  rows.push(
    row(
      'load again (compiled module cached)',
      cachedLoad,
      'new WebAssembly.Instance of the original, compiled (the floor)',
      instantiateRaw,
      '',
    ),
  );

  progress('execute');
  const adder = await loadedWith(modules.add);
  const rawAdd = (await WebAssembly.instantiate(modules.add as Uint8Array<ArrayBuffer>)).instance.exports[
    'add'
  ] as (a: number, b: number) => number;
  // Per call in the steady state a host calling its guest often reaches: rounds of 10,000 calls after
  // 30 rounds of warm-up (a few thousand calls leave part of the path unoptimised, and read 2 to 4 times more).
  const CALLS = 10_000;
  const calls = compare(
    {
      sandbox: () => {
        for (let i = 0; i < CALLS; i++) sandbox.execute(adder, 'add', [i, 1]);
      },
      baseline: () => {
        for (let i = 0; i < CALLS; i++) rawAdd(i, 1);
      },
    },
    { rounds: 11, warmup: 30 },
  );
  rows.push(
    row(
      'execute(add), per call',
      (calls['sandbox'] ?? 0) / CALLS,
      'raw exported call',
      (calls['baseline'] ?? 0) / CALLS,
      '< 2 µs',
    ),
  );

  const fib = await loadedWith(modules.fibonacci, { maxGas: 1e9 });
  const rawFib = (await WebAssembly.instantiate(modules.fibonacci as Uint8Array<ArrayBuffer>)).instance
    .exports['fib'] as (n: number) => bigint;
  const fibTimes = compare(
    { sandbox: () => sandbox.execute(fib, 'fib', 20), baseline: () => rawFib(20) },
    { rounds: 21 },
  );
  rows.push(
    row(
      'execute(fib, 20), all instrumentation',
      fibTimes['sandbox'] ?? 0,
      'raw fib(20)',
      fibTimes['baseline'] ?? 0,
      '< 2 ms',
    ),
  );

  rows.push(...snapshotRows);

  progress('end to end');
  const endToEnd = await timeAsync(async () => {
    const fresh = createWasmSandbox();
    const one = must(fresh.create());
    must(await fresh.load(one, modules.add));
    fresh.execute(one, 'add', [1, 2]);
    fresh.destroy(one);
  }, 21);
  const rawEndToEnd = await timeAsync(async () => {
    const { instance } = await WebAssembly.instantiate(modules.add as Uint8Array<ArrayBuffer>);
    (instance.exports['add'] as (a: number, b: number) => number)(1, 2);
  }, 21);
  rows.push(row('create + load + execute + destroy', endToEnd, 'instantiate + call', rawEndToEnd, '< 10 ms'));

  const count = options.liveInstances ?? 10_000;
  progress('live instances');
  const many = createWasmSandbox();
  const live: SandboxInstance[] = [];
  for (let i = 0; i < count; i++) {
    const instance = must(many.create({ maxExecutionMs: GENEROUS_MS }));
    must(await many.load(instance, modules.counter));
    live.push(instance);
  }
  live.forEach((one, i) => many.execute(one, 'add', i));
  const working = live.filter((one, i) => {
    const result = many.execute(one, 'get');
    return result.ok && result.value === i;
  }).length;
  for (const one of live) many.destroy(one);
  rows.push({
    operation: 'live instances in one process',
    value: String(working),
    baseline: 'all functional of',
    baselineValue: String(count),
    ratio: '',
    target: '10,000',
  });
  sandbox.destroy(adder);
  sandbox.destroy(fib);
  sandbox.destroy(page);
  return rows;
}

/** The rows as a Markdown table. */
export function benchTable(rows: readonly BenchRow[]): string {
  const header = ['operation', 'ri-sandbox', 'baseline', 'baseline time', 'ratio', 'target'];
  const lines = [
    header,
    header.map(() => '---'),
    ...rows.map((r) => [r.operation, r.value, r.baseline, r.baselineValue, r.ratio, r.target]),
  ];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
