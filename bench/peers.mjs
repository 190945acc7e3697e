// ri-sandbox beside what JS users pick today to run untrusted code: isolated-vm (a V8
// isolate with a memory limit) and quickjs-emscripten (QuickJS compiled to WebAssembly,
// with an interrupt handler). Each runs the same two jobs, timed in the same run:
// create + load + run add(2, 3) + dispose, and fib(20) in an already set-up sandbox.
// The peers live in bench/peers (their own npm install: isolated-vm builds a native
// addon), installed on first use; RI_SANDBOX_BENCH_PEERS=0 skips them.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { fixture } from '@ri-sandbox/test-fixtures';
import { compare, ms, ratio, table, timeAsync } from './lib.mjs';

const peersDir = fileURLToPath(new URL('./peers/', import.meta.url));
const FIB = 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }';

function ensurePeers(log) {
  if (existsSync(`${peersDir}node_modules/isolated-vm/out/isolated_vm.node`)) return true;
  log('peers: installing isolated-vm and quickjs-emscripten into bench/peers (a minute or two)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: peersDir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return existsSync(`${peersDir}node_modules/isolated-vm/out/isolated_vm.node`);
}

export async function run(log) {
  if (process.env.RI_SANDBOX_BENCH_PEERS === '0' || !ensurePeers(log)) return { skipped: true };
  const require = createRequire(peersDir);
  const ivm = require('isolated-vm');
  const { getQuickJS, shouldInterruptAfterDeadline } = require('quickjs-emscripten');
  const quickjs = await getQuickJS();
  const add = fixture('add');
  const sandbox = createWasmSandbox();

  log('peers: create + load + run + dispose');
  // 41 timed rounds after 1000 untimed ones, for each: the code each runs is warm (as in a host that keeps
  // creating sandboxes), whichever suites ran before in this process.
  const ROUNDS = [41, 1000];
  const setups = {
    'ri-sandbox': () =>
      timeAsync(
        async () => {
          const instance = sandbox.create({ maxMemoryBytes: 16 << 20, maxExecutionMs: 50 }).value;
          await sandbox.load(instance, add);
          sandbox.execute(instance, 'add', [2, 3]);
          sandbox.destroy(instance);
        },
        ...ROUNDS,
      ),
    'isolated-vm': () =>
      timeAsync(
        () => {
          const isolate = new ivm.Isolate({ memoryLimit: 16 });
          const context = isolate.createContextSync();
          isolate
            .compileScriptSync('function add(a, b) { return a + b; } add(2, 3)')
            .runSync(context, { timeout: 50 });
          isolate.dispose();
        },
        ...ROUNDS,
      ),
    'quickjs-emscripten': () =>
      timeAsync(
        () => {
          const runtime = quickjs.newRuntime();
          runtime.setMemoryLimit(16 << 20);
          runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + 50));
          const context = runtime.newContext();
          context.unwrapResult(context.evalCode('function add(a, b) { return a + b; } add(2, 3)')).dispose();
          context.dispose();
          runtime.dispose();
        },
        ...ROUNDS,
      ),
  };
  const setup = {};
  for (const [name, measure] of Object.entries(setups)) setup[name] = await measure();

  log('peers: fib(20)');
  const fibInstance = sandbox.create({ maxGas: 1e9 }).value;
  await sandbox.load(fibInstance, fixture('fibonacci'));
  const isolate = new ivm.Isolate({ memoryLimit: 16 });
  const ivmContext = isolate.createContextSync();
  isolate.compileScriptSync(FIB).runSync(ivmContext);
  const ivmFib = isolate.compileScriptSync('fib(20)');
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(16 << 20);
  const qjs = runtime.newContext();
  qjs.unwrapResult(qjs.evalCode(FIB)).dispose();
  const fib = compare(
    {
      'ri-sandbox': () => sandbox.execute(fibInstance, 'fib', 20),
      'isolated-vm': () => ivmFib.runSync(ivmContext, { timeout: 1000 }),
      'quickjs-emscripten': () => {
        runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + 1000));
        qjs.unwrapResult(qjs.evalCode('fib(20)')).dispose();
      },
    },
    { rounds: 15 },
  );
  qjs.dispose();
  runtime.dispose();
  isolate.dispose();
  sandbox.destroy(fibInstance);

  const rows = Object.keys(setups).map((name) => [
    name,
    ms(setup[name]),
    ratio(setup[name] / setup['ri-sandbox']),
    ms(fib[name]),
    ratio(fib[name] / fib['ri-sandbox']),
  ]);
  return { rows };
}

export function report(results) {
  if (results.skipped)
    return '### Peers\n\nSkipped (RI_SANDBOX_BENCH_PEERS=0, or they could not be installed).';
  return [
    '### Peers: the same jobs in what JS users pick today (ratios against ri-sandbox, same run)',
    '',
    table(
      ['runtime', 'create + load + add(2, 3) + dispose', 'ratio', 'fib(20) in a ready sandbox', 'ratio'],
      results.rows,
    ),
    '',
    'ri-sandbox meters every instruction (gas), bounds memory and time, and gives the same result on every ' +
      'engine; isolated-vm runs JavaScript in a V8 isolate (native addon, Node only) with a memory limit and ' +
      'a timeout; quickjs-emscripten interprets JavaScript in WebAssembly with a memory limit and an interrupt ' +
      'handler. fib is WebAssembly in ri-sandbox and JavaScript in the peers.',
  ].join('\n');
}
