// Metering benchmarks (issue #3): metered vs raw time on real workloads, the same
// workloads under wasm-metering (npm) for comparison, instrumentation time vs
// WebAssembly.validate on 600 KB of real compiler output, and timeout overshoot.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  INSTRUCTION_LAYOUTS,
  OPCODES,
  decodeModule,
  encodeModule,
  instructionEnd,
  walkEnd,
} from '@ri-sandbox/core';
import { canonicalizeNaNs } from '@ri-sandbox/determinism';
import { Meter, instrument } from '@ri-sandbox/metering';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { transformForLoad } from '@ri-sandbox/sandbox/bench';
import { fixture } from '@ri-sandbox/test-fixtures';
import { compare, geometricMean, median, ms, ratio, table, watToBytes } from './lib.mjs';

const require = createRequire(import.meta.url);

function must(result) {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}
const wasmMetering = require('wasm-metering');
/** The argument that makes this script measure the workloads in its own process and print them as JSON. */
const WORKLOADS_ARG = '--workloads';
/** The argument that makes this script time `WebAssembly.validate` of the bytes on its stdin and print the median. */
const VALIDATE_ARG = '--validate';
const NO_LIMIT = { maxGas: Number.MAX_SAFE_INTEGER, maxExecutionMs: 1e9 };

const countingLoop = watToBytes(`(module
  (func (export "count") (param $n i32) (result i32) (local $i i32) (local $sum i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $sum (i32.add (local.get $sum) (i32.xor (local.get $i) (i32.const 0x5bd1e995))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $sum)))`);

const WORKLOADS = [
  { name: 'fib(27), recursive', bytes: fixture('fibonacci'), action: 'fib', args: [27] },
  { name: 'counting loop, 20M iterations', bytes: countingLoop, action: 'count', args: [20_000_000] },
  { name: 'sha256 of 1 MiB (clang)', bytes: fixture('sha256'), action: 'sha256_pattern', args: [1 << 20] },
  {
    name: 'qsort of 200k integers (clang)',
    bytes: fixture('sort'),
    action: 'sort_random',
    args: [200_000, 1],
  },
  { name: 'matmul 128x128 doubles (clang)', bytes: fixture('matmul'), action: 'matmul', args: [128] },
];

/**
 * The workloads NaN canonicalization is timed on: one without float arithmetic, one that stores every
 * float result (matmul), game and simulation logic whose intermediate values live in locals, and a
 * vectorized sum whose accumulators do.
 */
const NAN_WORKLOADS = [
  ...WORKLOADS.filter((w) => /matmul|sha256/.test(w.name)),
  { name: 'n-body, 5 planets, 20k steps (clang)', bytes: fixture('nbody'), action: 'nbody', args: [20_000] },
  {
    name: 'f32x4 dot product of two 32 KiB vectors, 2,000 times (WAT)',
    bytes: watToBytes(`(module (memory 1)
      (func (export "dot") (param $times i32) (result f32) (local $i i32) (local $acc v128) (local $acc2 v128)
        (loop $again
          (local.set $i (i32.const 0))
          (loop $l
            (local.set $acc (f32x4.add (local.get $acc)
              (f32x4.mul (v128.load (local.get $i)) (v128.load offset=32768 (local.get $i)))))
            (local.set $acc2 (f32x4.add (local.get $acc2)
              (f32x4.mul (v128.load offset=16 (local.get $i)) (v128.load offset=32784 (local.get $i)))))
            (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 32))) (i32.const 32768))))
          (br_if $again (local.tee $times (i32.sub (local.get $times) (i32.const 1)))))
        (local.set $acc (f32x4.add (local.get $acc) (local.get $acc2)))
        (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
          (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))))`),
    action: 'dot',
    args: [2000],
  },
];

async function raw(bytes) {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  return instance.exports;
}

function instrumentedOnce(bytes) {
  const metered = instrument(bytes);
  if (!metered.ok) throw new Error(metered.error.message);
  return metered.value.bytes;
}

/** Instantiates `bytes` metered (`alreadyInstrumented`: as given). */
async function ours(bytes, alreadyInstrumented = false) {
  const meter = new Meter();
  meter.begin(NO_LIMIT);
  const module = alreadyInstrumented ? bytes : instrumentedOnce(bytes);
  const { instance } = await WebAssembly.instantiate(module, meter.imports);
  meter.attach(instance);
  return { exports: instance.exports, meter };
}

async function theirs(bytes) {
  try {
    const metered = wasmMetering.meterWASM(Buffer.from(bytes), { meterType: 'i64' });
    let gas = 0n;
    const { instance } = await WebAssembly.instantiate(metered, {
      metering: { usegas: (g) => void (gas += g) },
    });
    return instance.exports;
  } catch (error) {
    return { error: String(error.message ?? error).split('\n')[0] };
  }
}

/**
 * The workloads' times (raw, metered, and under wasm-metering if `withWasmMetering`) and the cost of NaN
 * canonicalization, in this process.
 */
async function measureWorkloads(withWasmMetering) {
  const workloads = [];
  for (const workload of WORKLOADS) {
    const plain = await raw(workload.bytes);
    const mine = await ours(workload.bytes);
    const other = withWasmMetering ? await theirs(workload.bytes) : undefined;
    const expected = plain[workload.action](...workload.args);
    const check = mine.meter.run(NO_LIMIT, () => mine.exports[workload.action](...workload.args));
    if (!check.ok || check.value !== expected) throw new Error(`${workload.name}: metered result differs`);
    const candidates = {
      raw: () => plain[workload.action](...workload.args),
      metered: () => mine.meter.run(NO_LIMIT, () => mine.exports[workload.action](...workload.args)),
    };
    if (other !== undefined && !other.error)
      candidates.wasmMetering = () => other[workload.action](...workload.args);
    const times = compare(candidates, { rounds: 11, warmup: 2 });
    workloads.push({
      name: workload.name,
      gas: check.gasUsed,
      rawMs: times.raw,
      meteredMs: times.metered,
      ratio: times.metered / times.raw,
      wasmMeteringRatio: times.wasmMetering === undefined ? undefined : times.wasmMetering / times.raw,
      wasmMeteringError: other?.error,
    });
  }
  const nan = [];
  for (const workload of NAN_WORKLOADS) {
    const plain = await ours(workload.bytes);
    const canonical = await ours(
      encodeModule(canonicalizeNaNs(decodeModule(instrumentedOnce(workload.bytes)))),
      true,
    );
    const times = compare(
      {
        metered: () => plain.meter.run(NO_LIMIT, () => plain.exports[workload.action](...workload.args)),
        canonical: () =>
          canonical.meter.run(NO_LIMIT, () => canonical.exports[workload.action](...workload.args)),
      },
      { rounds: 11, warmup: 2 },
    );
    nan.push({ name: workload.name, ratio: times.canonical / times.metered });
  }
  return { workloads, nan };
}

/**
 * How many fresh processes measure the workloads. One process can read a recursive fib at 0.8x or at
 * 1.5x raw, the same code placed differently (return prediction, alignment); the table shows the
 * median of the processes' ratios and their range. wasm-metering is timed in the first only.
 */
const WORKLOAD_PROCESSES = 5;

/** {@link measureWorkloads} in a process of its own. */
function measureWorkloadsApart(withWasmMetering) {
  const child = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), WORKLOADS_ARG, String(withWasmMetering)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    },
  );
  if (child.status !== 0) throw new Error(`metering workloads exited with ${child.status ?? child.signal}`);
  return JSON.parse(child.stdout);
}

/**
 * Median milliseconds of `WebAssembly.validate(bytes)` in a process of its own whose engine runs on
 * one thread (`--single-threaded`). In the bench's own process V8 validates function bodies on
 * worker threads as well: on this machine's two cores, the wall time is about half the CPU time,
 * while every transform runs on the one thread of the load.
 */
function validateOnOneThread(bytes, rounds) {
  const child = spawnSync(
    process.execPath,
    ['--single-threaded', fileURLToPath(import.meta.url), VALIDATE_ARG, String(rounds)],
    { input: bytes, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
  );
  if (child.status !== 0)
    throw new Error(`validation on one thread exited with ${child.status ?? child.signal}`);
  return Number(child.stdout);
}

/**
 * A function that finds where every instruction of `bytes`' bodies ends (with `instructionEnd`, as
 * each transform's scan does) and nothing else: what any walk over the code costs in JavaScript.
 * (Not `walkBody`, whose check of each instruction against its visitors' table would be part of the
 * figure: 31 to 38 ms on ruby.wasm against 26 ms for this loop.)
 */
function walkOnly(bytes) {
  const bodies = decodeModule(bytes).code.map((body) => body.code);
  return () => {
    for (const code of bodies) {
      let p = 0;
      while (p < code.length) p = instructionEnd(code, p);
      walkEnd(p, code.length);
    }
  };
}

const WALK_PREFIXES = [0xfc, 0xfd, 0xfe];

/** The single-byte opcodes after which the simple metering in WebAssembly starts a block (see `meter` in walk/walk.c). */
const WASM_METER_SPLITS = [0x00, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11];

/**
 * The same walk as {@link walkOnly}, in WebAssembly compiled from C (walk/walk.c, clang -O3), with
 * the bodies copied into its memory beforehand (not timed): what the walk of a transform written
 * in C or Rust would cost in the same engine. And, from the same module, the simplest metering of
 * those bodies (each block charged on entry, its code copied after the charge): the least a
 * metering transform in C does on top of the walk. Its output is checked once to walk to the end
 * of every body.
 */
function inWebAssembly(bytes) {
  const bodies = decodeModule(bytes).code.map((body) => body.code);
  const module = new WebAssembly.Module(readFileSync(new URL('./walk/walk.wasm', import.meta.url)));
  const { memory, walk, meter, code_start, single_layout, prefixed_layout, cost_of, splits_after } =
    new WebAssembly.Instance(module).exports;
  let heap = new Uint8Array(memory.buffer);
  // The layouts are the core walk's own (walk/walk.c numbers them as it does).
  heap.set(INSTRUCTION_LAYOUTS.single, single_layout.value);
  WALK_PREFIXES.forEach((prefix, i) =>
    heap.set(INSTRUCTION_LAYOUTS.prefixed.get(prefix), prefixed_layout.value + 512 * i),
  );
  for (const op of OPCODES) if (op.prefix === undefined) heap[cost_of.value + op.code] = 1;
  for (const opcode of WASM_METER_SPLITS) heap[splits_after.value + opcode] = 1;
  const spans = [];
  let at = code_start();
  const input = bodies.reduce((sum, code) => sum + code.length, 0);
  // The metered bodies go after the bodies: each block's charge takes up to 21 bytes.
  const needed = at + 5 * input;
  if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
  heap = new Uint8Array(memory.buffer);
  for (const body of bodies) {
    heap.set(body, at);
    spans.push(at, body.length);
    at += body.length;
  }
  const output = at;
  const meterAll = () => {
    let out = output;
    for (let i = 0; i < spans.length; i += 2) out += meter(spans[i], spans[i + 1], out);
    return out;
  };
  // The metered bodies, end to end, must be whole instructions: metering wrote what it meant to.
  const end = meterAll();
  if (walk(output, end - output) !== end - output)
    throw new Error('the WebAssembly metering wrote a broken body');
  return {
    walk: () => {
      for (let i = 0; i < spans.length; i += 2)
        if (walk(spans[i], spans[i + 1]) !== spans[i + 1])
          throw new Error('the WebAssembly walk went astray');
    },
    meter: meterAll,
  };
}

/** Per workload (by position), the run whose ratio is the median, with the range of the ratios. */
function medianOfRuns(runs, pick) {
  return pick(runs[0]).map((first, i) => {
    const sorted = runs.map((run) => pick(run)[i]).sort((a, b) => a.ratio - b.ratio);
    const middle = sorted[sorted.length >> 1];
    return {
      ...middle,
      ratioLow: sorted[0].ratio,
      ratioHigh: sorted[sorted.length - 1].ratio,
      // wasm-metering was timed in the first process only.
      wasmMeteringRatio: first.wasmMeteringRatio,
      wasmMeteringError: first.wasmMeteringError,
    };
  });
}

export async function run(log) {
  const results = { workloads: [], instrumentation: undefined, timeouts: [] };

  log(
    `metering: workloads (raw, ri-sandbox metered, wasm-metering) and NaN canonicalization, in ${WORKLOAD_PROCESSES} processes`,
  );
  const runs = [];
  for (let i = 0; i < WORKLOAD_PROCESSES; i++) {
    runs.push(measureWorkloadsApart(i === 0));
    log(
      `  process ${i + 1}: ${runs[i].workloads.map((w) => ratio(w.ratio)).join(', ')}; NaN ${runs[i].nan.map((n) => ratio(n.ratio)).join(', ')}`,
    );
  }
  results.processes = WORKLOAD_PROCESSES;
  results.workloads = medianOfRuns(runs, (run) => run.workloads);
  results.nan = medianOfRuns(runs, (run) => run.nan);

  log('metering: instrumentation time vs WebAssembly.validate');
  const captured = [];
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = function (bytes, ...rest) {
    if (bytes instanceof Uint8Array || bytes instanceof ArrayBuffer) captured.push(new Uint8Array(bytes));
    return instantiate.call(this, bytes, ...rest);
  };
  // wabt's own engine: emscripten output of a large C++ code base, compiled once more here.
  const { default: createAnotherWabt } = await import(`wabt?again=${Date.now()}`).catch(() => import('wabt'));
  await createAnotherWabt();
  WebAssembly.instantiate = instantiate;
  const big = captured.sort((a, b) => b.length - a.length)[0];
  if (big === undefined || big.length < 500_000) throw new Error('could not capture a 500 KB module');
  const bigInWasm = inWebAssembly(big);
  const times = compare(
    {
      validate: () => WebAssembly.validate(big),
      instrument: () => instrument(big),
      all: () => must(transformForLoad(big)),
      walk: walkOnly(big),
      walkWasm: bigInWasm.walk,
      meterWasm: bigInWasm.meter,
    },
    { rounds: 15, warmup: 3 },
  );
  results.instrumentation = {
    bytes: big.length,
    validateMs: times.validate,
    instrumentMs: times.instrument,
    ratio: times.instrument / times.validate,
  };
  log(`  ${(big.length / 1024).toFixed(0)} KB: ${ratio(times.instrument / times.validate)}`);
  // Everything a load does before compiling (policy, metering, call depth, NaN, exposure, encoding).
  const ruby = new Uint8Array(readFileSync(require.resolve('@ruby/3.4-wasm-wasi/dist/ruby.wasm')));
  const rubyInWasm = inWebAssembly(ruby);
  const rubyTimes = compare(
    {
      validate: () => WebAssembly.validate(ruby),
      all: () => must(transformForLoad(ruby)),
      walk: walkOnly(ruby),
      walkWasm: rubyInWasm.walk,
      meterWasm: rubyInWasm.meter,
    },
    { rounds: 5, warmup: 1 },
  );
  results.loadTransforms = [
    {
      module: `wabt.wasm (emscripten, ${(big.length / 1024).toFixed(0)} KB)`,
      validateMs: times.validate,
      validateOneThreadMs: validateOnOneThread(big, 15),
      walkMs: times.walk,
      walkWasmMs: times.walkWasm,
      meterWasmMs: times.meterWasm,
      allMs: times.all,
    },
    {
      module: `ruby.wasm (wasi-sdk, ${(ruby.length / 2 ** 20).toFixed(1)} MiB)`,
      validateMs: rubyTimes.validate,
      validateOneThreadMs: validateOnOneThread(ruby, 5),
      walkMs: rubyTimes.walk,
      walkWasmMs: rubyTimes.walkWasm,
      meterWasmMs: rubyTimes.meterWasm,
      allMs: rubyTimes.all,
    },
  ];
  for (const row of results.loadTransforms)
    log(`  all load transforms, ${row.module}: ${ratio(row.allMs / row.validateMs)}`);

  log('metering: timeout overshoot on an infinite loop');
  const sandbox = createWasmSandbox();
  for (const limit of [10, 50, 200]) {
    const created = sandbox.create({ maxGas: Number.MAX_SAFE_INTEGER, maxExecutionMs: limit });
    if (!created.ok) throw new Error(created.error.message);
    const loaded = await sandbox.load(created.value, fixture('infinite-loop'));
    if (!loaded.ok) throw new Error(loaded.error.message);
    const samples = [];
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      const result = sandbox.execute(created.value, 'run');
      samples.push(performance.now() - started);
      if (result.ok || result.error.code !== 'TIMEOUT') throw new Error('expected TIMEOUT');
    }
    results.timeouts.push({ limitMs: limit, medianMs: median(samples), maxMs: Math.max(...samples) });
    log(`  ${limit} ms: ${ratio(median(samples) / limit)}`);
  }
  return results;
}

/** The range of a median's ratios over the processes, or nothing for results of one process. */
function spread({ ratioLow, ratioHigh }) {
  return ratioLow === undefined ? '' : `${ratio(ratioLow)} to ${ratio(ratioHigh)}`;
}

export function report(results) {
  const workloadRows = results.workloads.map((w) => [
    w.name,
    String(w.gas),
    ms(w.rawMs),
    ms(w.meteredMs),
    ratio(w.ratio),
    spread(w),
    w.wasmMeteringRatio === undefined ? `fails: ${w.wasmMeteringError}` : ratio(w.wasmMeteringRatio),
  ]);
  const ratios = results.workloads.map((w) => w.ratio);
  const theirs = results.workloads
    .filter((w) => w.wasmMeteringRatio !== undefined)
    .map((w) => w.wasmMeteringRatio);
  const { instrumentation: inst } = results;
  return [
    '### Metering: metered time / raw time (target: geometric mean <= 1.25x, worst <= 2.5x)',
    '',
    `Each of ${results.processes ?? 1} fresh processes interleaves the two; per workload, the table shows the process whose ratio is the median, and the range of the ratios (wasm-metering: the first process only).`,
    '',
    table(['workload', 'gas', 'raw', 'metered', 'ri-sandbox', 'range', 'wasm-metering'], workloadRows),
    '',
    `Geometric mean: **${ratio(geometricMean(ratios))}** (worst ${ratio(Math.max(...ratios))}); ` +
      `wasm-metering: ${theirs.length ? `${ratio(geometricMean(theirs))} (worst ${ratio(Math.max(...theirs))})` : 'n/a'}.`,
    '',
    '### Determinism: NaN canonicalization, metered time with / without',
    '',
    table(
      ['workload', 'ratio', 'range'],
      results.nan.map((n) => [n.name, ratio(n.ratio), spread(n)]),
    ),
    '',
    '### Metering: instrumentation time / `WebAssembly.validate` time (target: <= 2x)',
    '',
    table(
      ['module', 'validate', 'instrument', 'ratio'],
      [
        [
          `wabt.wasm (emscripten, ${(inst.bytes / 1024).toFixed(0)} KB)`,
          ms(inst.validateMs),
          ms(inst.instrumentMs),
          ratio(inst.ratio),
        ],
      ],
    ),
    '',
    '### Load: every transform a load applies (policy, metering, call depth, NaN, exposure, encoding) / `WebAssembly.validate` (target: <= 2x)',
    '',
    'V8 validates function bodies on worker threads too: "validate" is the wall time in the bench\'s own process, "one thread" the same in a process run with `--single-threaded` (the transforms run on one thread). "walk alone" finds where every instruction ends and does nothing else, as each scan must: the floor of any transform written in JavaScript. "walk in WebAssembly" is the same walk compiled from C (`bench/walk/walk.c`, clang -O3), the bodies in its memory already: the floor of a transform written in C or Rust and run by the same engine. "metering in WebAssembly" is the simplest metering from the same C (each block charged on entry, its code copied after the charge), no other transform, no decoding or encoding of the module: the least of a metering transform written in C.',
    '',
    table(
      [
        'module',
        'validate',
        'one thread',
        'walk alone',
        'walk in WebAssembly',
        'metering in WebAssembly',
        'all transforms',
        'ratio',
        'ratio to one thread',
      ],
      (results.loadTransforms ?? []).map((t) => [
        t.module,
        ms(t.validateMs),
        t.validateOneThreadMs === undefined ? '' : ms(t.validateOneThreadMs),
        t.walkMs === undefined ? '' : ms(t.walkMs),
        t.walkWasmMs === undefined ? '' : ms(t.walkWasmMs),
        t.meterWasmMs === undefined ? '' : ms(t.meterWasmMs),
        ms(t.allMs),
        ratio(t.allMs / t.validateMs),
        t.validateOneThreadMs === undefined ? '' : ratio(t.allMs / t.validateOneThreadMs),
      ]),
    ),
    '',
    '### Metering: TIMEOUT return time on an infinite loop, as a ratio of the limit (target: <= 1.2x at 50 ms)',
    '',
    table(
      ['limit', 'median', 'worst', 'median / limit', 'worst / limit'],
      results.timeouts.map((t) => [
        `${t.limitMs} ms`,
        ms(t.medianMs),
        ms(t.maxMs),
        ratio(t.medianMs / t.limitMs),
        ratio(t.maxMs / t.limitMs),
      ]),
    ),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === WORKLOADS_ARG) {
  process.stdout.write(`${JSON.stringify(await measureWorkloads(process.argv[3] === 'true'))}\n`);
}
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === VALIDATE_ARG) {
  const bytes = new Uint8Array(readFileSync(0));
  const { validate } = compare(
    { validate: () => WebAssembly.validate(bytes) },
    { rounds: Number(process.argv[3]) },
  );
  process.stdout.write(String(validate));
}
