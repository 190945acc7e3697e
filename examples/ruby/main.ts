/**
 * Untrusted Ruby, deterministic, metered, suspendable: CRuby (ruby.wasm) in a
 * sandbox. `pnpm run example:ruby [script.rb]` after `pnpm install`.
 *
 * 0. Load ruby.wasm. The sandbox keeps what its transforms make of it in a
 *    store of prepared modules (a directory under node_modules/.cache), so
 *    that the next run of this example compiles that instead: see the
 *    README's "Prepared modules".
 * 1. Initialise the interpreter once, with a budget large enough for it.
 * 2. Snapshot it: every later run restores this snapshot into a fresh
 *    instance with a small budget, so untrusted code starts from a clean,
 *    initialised interpreter in milliseconds.
 * 3. Run the script: its output, the files it wrote, the gas it used.
 * 4. Run code that never ends: gas stops it, then time does.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { directoryStore } from '@ri-sandbox/sandbox/node';
import { type RubyRun, restoreRuby, startRuby } from './ruby';

const DEFAULT_SCRIPT = `
words = %w[deterministic metered suspendable]
puts "Hello from Ruby #{RUBY_VERSION}: #{words.join(', ')}"
puts "Time.now is the sandbox's clock: #{Time.now.utc}"
puts "rand is seeded: #{Array.new(3) { rand(100) }.inspect}"
File.write("/report.txt", words.map(&:upcase).join("\\n"))
puts "#{Dir.children("/").sort.inspect} in the virtual file system"
`;

function show(title: string, run: RubyRun): void {
  console.log(`\n${title}`);
  if (run.stdout !== '') console.log(run.stdout.trimEnd().replace(/^/gm, '  | '));
  if (run.stderr !== '') console.log(run.stderr.trimEnd().replace(/^/gm, '  ! '));
  console.log(
    run.ok ? `  gas used: ${run.gasUsed}` : `  stopped: ${run.error?.code} (${run.error?.message})`,
  );
}

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const scriptPath = process.argv[2];
const script = scriptPath === undefined ? DEFAULT_SCRIPT : readFileSync(scriptPath, 'utf8');
const rubyWasm = new Uint8Array(
  readFileSync(createRequire(import.meta.url).resolve('@ruby/3.4-wasm-wasi/dist/ruby+stdlib.wasm')),
);
// main.ts runs from examples/ruby/dist/: the repository's node_modules is three folders up.
const prepared = fileURLToPath(new URL('../../../node_modules/.cache/ri-sandbox/prepared/', import.meta.url));
const sandbox = createWasmSandbox({ preparedModules: directoryStore(prepared) });

let started = performance.now();
const booted = unwrap(await startRuby(sandbox, rubyWasm, { deterministicSeed: 42 }));
console.log(
  `ruby.wasm (${(rubyWasm.length / 2 ** 20).toFixed(1)} MiB) loaded and initialised in ` +
    `${(performance.now() - started).toFixed(0)} ms, ${booted.instance.metrics.gasUsed} gas`,
);
const initialised = unwrap(booted.snapshot());
sandbox.destroy(booted.instance);
console.log(`snapshot after initialisation: ${(initialised.length / 2 ** 20).toFixed(1)} MiB`);

// Each run: a fresh instance from the snapshot, 50 million gas, 5 seconds.
const limits = { maxGas: 50_000_000, maxExecutionMs: 5_000 };
started = performance.now();
const ruby = unwrap(await restoreRuby(sandbox, rubyWasm, initialised, limits));
console.log(`restored into a fresh instance in ${(performance.now() - started).toFixed(0)} ms`);
const run = ruby.eval(script);
show('the script:', run);
const files = unwrap(sandbox.readFiles(ruby.instance));
for (const [path, bytes] of Object.entries(files))
  console.log(`  host reads ${path}: ${JSON.stringify(new TextDecoder().decode(bytes))}`);

const again = unwrap(await restoreRuby(sandbox, rubyWasm, initialised, limits));
const rerun = again.eval(script);
console.log(
  `\nthe same script from the same snapshot, in another instance: same output ${rerun.stdout === run.stdout}, ` +
    `same gas ${rerun.gasUsed === run.gasUsed}`,
);

show('an exception:', ruby.eval('def half(n) = n / 0\nhalf(4)'));
show('`loop {}` under 50 million gas:', ruby.eval('loop {}'));
const timed = unwrap(
  await restoreRuby(sandbox, rubyWasm, initialised, { maxGas: 1e15, maxExecutionMs: 500 }),
);
show('`loop {}` under 500 ms and unlimited gas:', timed.eval('loop {}'));
