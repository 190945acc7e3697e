// Metering benchmarks (issue #3): metered vs raw time on real workloads, the same
// workloads under wasm-metering (npm) for comparison, instrumentation time vs
// WebAssembly.validate on 600 KB of real compiler output, and timeout overshoot.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decodeModule, encodeModule } from '@ri-sandbox/core';
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

export async function run(log) {
  const results = { workloads: [], instrumentation: undefined, timeouts: [] };

  log('metering: workloads (raw, ri-sandbox metered, wasm-metering)');
  for (const workload of WORKLOADS) {
    const plain = await raw(workload.bytes);
    const mine = await ours(workload.bytes);
    const other = await theirs(workload.bytes);
    const expected = plain[workload.action](...workload.args);
    const check = mine.meter.run(NO_LIMIT, () => mine.exports[workload.action](...workload.args));
    if (!check.ok || check.value !== expected) throw new Error(`${workload.name}: metered result differs`);
    const candidates = {
      raw: () => plain[workload.action](...workload.args),
      metered: () => mine.meter.run(NO_LIMIT, () => mine.exports[workload.action](...workload.args)),
    };
    if (!other.error) candidates.wasmMetering = () => other[workload.action](...workload.args);
    const times = compare(candidates, { rounds: 11, warmup: 2 });
    results.workloads.push({
      name: workload.name,
      gas: check.gasUsed,
      rawMs: times.raw,
      meteredMs: times.metered,
      ratio: times.metered / times.raw,
      wasmMeteringRatio: other.error ? undefined : times.wasmMetering / times.raw,
      wasmMeteringError: other.error,
    });
    log(`  ${workload.name}: ${ratio(times.metered / times.raw)}`);
  }

  log('determinism: cost of NaN canonicalization (metered, with vs without)');
  results.nan = [];
  for (const workload of WORKLOADS.filter((w) => /matmul|sha256/.test(w.name))) {
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
    results.nan.push({ name: workload.name, ratio: times.canonical / times.metered });
    log(`  ${workload.name}: ${ratio(times.canonical / times.metered)}`);
  }

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
  const times = compare(
    {
      validate: () => WebAssembly.validate(big),
      instrument: () => instrument(big),
      all: () => must(transformForLoad(big)),
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
  const rubyTimes = compare(
    { validate: () => WebAssembly.validate(ruby), all: () => must(transformForLoad(ruby)) },
    { rounds: 5, warmup: 1 },
  );
  results.loadTransforms = [
    {
      module: `wabt.wasm (emscripten, ${(big.length / 1024).toFixed(0)} KB)`,
      validateMs: times.validate,
      allMs: times.all,
    },
    {
      module: `ruby.wasm (wasi-sdk, ${(ruby.length / 2 ** 20).toFixed(1)} MiB)`,
      validateMs: rubyTimes.validate,
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

export function report(results) {
  const workloadRows = results.workloads.map((w) => [
    w.name,
    String(w.gas),
    ms(w.rawMs),
    ms(w.meteredMs),
    ratio(w.ratio),
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
    table(['workload', 'gas', 'raw', 'metered', 'ri-sandbox', 'wasm-metering'], workloadRows),
    '',
    `Geometric mean: **${ratio(geometricMean(ratios))}** (worst ${ratio(Math.max(...ratios))}); ` +
      `wasm-metering: ${theirs.length ? `${ratio(geometricMean(theirs))} (worst ${ratio(Math.max(...theirs))})` : 'n/a'}.`,
    '',
    '### Determinism: NaN canonicalization, metered time with / without',
    '',
    table(
      ['workload', 'ratio'],
      results.nan.map((n) => [n.name, ratio(n.ratio)]),
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
    table(
      ['module', 'validate', 'all transforms', 'ratio'],
      (results.loadTransforms ?? []).map((t) => [
        t.module,
        ms(t.validateMs),
        ms(t.allMs),
        ratio(t.allMs / t.validateMs),
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
