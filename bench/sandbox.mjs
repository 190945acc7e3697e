// Sandbox benchmarks (issue #6's performance table, without the peers yet): each
// operation of the public API against the closest raw WebAssembly baseline, timed
// in the same run, plus how many live instances one process holds.
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { fixture } from '@ri-sandbox/test-fixtures';
import { compare, ms, ratio, table } from './lib.mjs';

async function loadedInstance(sandbox, name, config = {}) {
  const created = sandbox.create(config);
  if (!created.ok) throw new Error(created.error.message);
  const loaded = await sandbox.load(created.value, fixture(name));
  if (!loaded.ok) throw new Error(loaded.error.message);
  return created.value;
}

async function timeAsync(fn, rounds) {
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

export async function run(log) {
  const rows = [];
  const sandbox = createWasmSandbox();
  const add = fixture('add');
  const sort = fixture('sort');

  log('sandbox: create');
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
  rows.push([
    'create',
    ms(create.sandbox / 100),
    'new WebAssembly.Memory',
    ms(create.baseline / 100),
    ratio(create.sandbox / create.baseline),
    '< 50 µs',
  ]);

  log('sandbox: load');
  const firstLoadMs = await timeAsync(async () => {
    const fresh = createWasmSandbox();
    await fresh.load(fresh.create({ maxGas: 1e9 }).value, sort);
  }, 15);
  const instance = sandbox.create({ maxGas: 1e9 }).value;
  const cachedLoadMs = await timeAsync(() => sandbox.load(instance, sort), 15);
  const compileMs = await timeAsync(() => WebAssembly.compile(sort), 15);
  const kb = (sort.length / 1024).toFixed(0);
  rows.push([
    `first load (${kb} KB clang module)`,
    ms(firstLoadMs),
    'WebAssembly.compile',
    ms(compileMs),
    ratio(firstLoadMs / compileMs),
    '< 5 ms (10 KB)',
  ]);
  rows.push([
    'load again (compiled module cached)',
    ms(cachedLoadMs),
    'WebAssembly.compile',
    ms(compileMs),
    ratio(cachedLoadMs / compileMs),
    '',
  ]);

  log('sandbox: execute');
  const adder = await loadedInstance(sandbox, 'add');
  const { instance: rawAdd } = await WebAssembly.instantiate(add);
  const rawAddFn = rawAdd.exports.add;
  const calls = compare(
    {
      sandbox: () => {
        for (let i = 0; i < 1000; i++) sandbox.execute(adder, 'add', [i, 1]);
      },
      baseline: () => {
        for (let i = 0; i < 1000; i++) rawAddFn(i, 1);
      },
    },
    { rounds: 11 },
  );
  rows.push([
    'execute(add), per call',
    ms(calls.sandbox / 1000),
    'raw exported call',
    ms(calls.baseline / 1000),
    ratio(calls.sandbox / calls.baseline),
    '< 2 µs',
  ]);

  const fib = await loadedInstance(sandbox, 'fibonacci', { maxGas: 1e9 });
  const { instance: rawFib } = await WebAssembly.instantiate(fixture('fibonacci'));
  const fibTimes = compare(
    { sandbox: () => sandbox.execute(fib, 'fib', 20), baseline: () => rawFib.exports.fib(20) },
    { rounds: 21 },
  );
  rows.push([
    'execute(fib, 20), all instrumentation',
    ms(fibTimes.sandbox),
    'raw fib(20)',
    ms(fibTimes.baseline),
    ratio(fibTimes.sandbox / fibTimes.baseline),
    '< 2 ms',
  ]);

  log('sandbox: end to end');
  const endToEnd = await timeAsync(async () => {
    const fresh = createWasmSandbox();
    const one = fresh.create().value;
    await fresh.load(one, add);
    fresh.execute(one, 'add', [1, 2]);
    fresh.destroy(one);
  }, 21);
  const rawEndToEnd = await timeAsync(async () => {
    const { instance: raw } = await WebAssembly.instantiate(add);
    raw.exports.add(1, 2);
  }, 21);
  rows.push([
    'create + load + execute + destroy',
    ms(endToEnd),
    'instantiate + call',
    ms(rawEndToEnd),
    ratio(endToEnd / rawEndToEnd),
    '< 10 ms',
  ]);

  log('sandbox: live instances');
  const many = createWasmSandbox();
  const live = [];
  for (let i = 0; i < 10_000; i++) live.push(await loadedInstance(many, 'counter'));
  live.forEach((one, i) => many.execute(one, 'add', i));
  const working = live.filter((one, i) => {
    const result = many.execute(one, 'get');
    return result.ok && result.value === i;
  }).length;
  for (const one of live) many.destroy(one);
  rows.push(['live instances in one process', String(working), 'all functional of', '10000', '', '10,000']);
  return { rows };
}

export function report(results) {
  return [
    '### Sandbox operations (targets are indicative: the machine is shared)',
    '',
    table(['operation', 'ri-sandbox', 'baseline', 'baseline time', 'ratio', 'target'], results.rows),
  ].join('\n');
}
