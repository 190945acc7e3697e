// The quick-start demo: loads bundled example modules into sandboxes, runs them
// under limits, and prints each result with the instance's metrics.
import { createWasmSandbox, defineHostFunction } from '@ri-sandbox/sandbox';
import { fixture } from '@ri-sandbox/test-fixtures';

const sandbox = createWasmSandbox();

function show(title, result) {
  console.log(`\n${title}`);
  if (result.ok) {
    console.log('  result :', result.value);
    const m = result.metrics;
    console.log(`  gas    : ${result.gasUsed} of ${m.gasLimit}`);
    console.log(`  memory : ${m.memoryUsedBytes} of ${m.memoryLimitBytes} bytes`);
    console.log(`  time   : ${result.durationMs.toFixed(3)} ms (limit ${m.executionLimitMs} ms)`);
  } else {
    console.log(`  error  : ${result.error.code} - ${result.error.message}`);
  }
}

async function sandboxWith(name, config) {
  const created = sandbox.create(config);
  if (!created.ok) throw new Error(created.error.message);
  const loaded = await sandbox.load(created.value, fixture(name));
  if (!loaded.ok) throw new Error(loaded.error.message);
  return created.value;
}

console.log('ri-sandbox demo: untrusted WebAssembly, run under limits');

// Real compiler output (C, clang wasm32-wasi): qsort over JSON through the JSON ABI. The time limit
// (default 50 ms) also covers the engine compiling the functions a first call reaches.
const sort = await sandboxWith('sort', { maxMemoryBytes: 1 << 20, maxGas: 10_000_000, maxExecutionMs: 1000 });
show(
  'sort.wasm  execute(sort, { values: [42, -7, 19, 3, 0] })',
  sandbox.execute(sort, 'sort', { values: [42, -7, 19, 3, 0] }),
);

// The same toolchain: SHA-256 of a string, JSON in and out.
const sha = await sandboxWith('sha256', { maxMemoryBytes: 1 << 20, maxExecutionMs: 1000 });
show('sha256.wasm  execute(sha256, "hello, sandbox")', sandbox.execute(sha, 'sha256', 'hello, sandbox'));

// Direct mode: numbers in, numbers out (i64 arrives as a bigint).
const fib = await sandboxWith('fibonacci', { maxGas: 10_000_000, maxExecutionMs: 1000 });
show('fibonacci.wasm  execute(fib, 25)', sandbox.execute(fib, 'fib', 25));

// A host function the guest may call, declared with its signature.
const host = await sandboxWith('host-caller', {
  hostFunctions: {
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
      handler: (pointer, length, context) =>
        console.log(`  guest says: "${new TextDecoder().decode(context.memory.read(pointer, length))}"`),
    }),
    host_i64: defineHostFunction({ name: 'host_i64', params: ['i64'], results: ['i64'], handler: (x) => x }),
  },
});
show('host-caller.wasm  execute(call_log)', sandbox.execute(host, 'call_log'));

// Limits and faults come back as typed errors, never exceptions.
const hog = await sandboxWith('memory-hog', { maxMemoryBytes: 256 * 1024 });
show('memory-hog.wasm  execute(hog) with maxMemoryBytes 256 KiB', sandbox.execute(hog, 'hog'));

// A loop that never calls the host is still stopped: by gas, or by the clock.
const spinner = await sandboxWith('infinite-loop', { maxGas: 5_000_000 });
show('infinite-loop.wasm  execute(run) with maxGas 5,000,000', sandbox.execute(spinner, 'run'));
const clocked = await sandboxWith('infinite-loop', { maxGas: Number.MAX_SAFE_INTEGER, maxExecutionMs: 20 });
show('infinite-loop.wasm  execute(run) with maxExecutionMs 20', sandbox.execute(clocked, 'run'));
const traps = await sandboxWith('traps');
show('traps.wasm  execute(divide_by_zero, 0)', sandbox.execute(traps, 'divide_by_zero', 0));

// Snapshots capture the whole state (here a global the module never exports) and restore it exactly.
const counter = await sandboxWith('counter');
sandbox.execute(counter, 'add', 41);
const saved = sandbox.snapshot(counter).value;
sandbox.execute(counter, 'add', 1000);
sandbox.restore(counter, saved);
show(
  `counter.wasm  add(41), snapshot (${saved.length} bytes), add(1000), restore, increment`,
  sandbox.execute(counter, 'increment'),
);

for (const instance of [sort, sha, fib, host, hog, spinner, clocked, traps, counter])
  sandbox.destroy(instance);
console.log(
  `\nAll instances destroyed; executing again answers: ${sandbox.execute(fib, 'fib', 1).error.code}`,
);
