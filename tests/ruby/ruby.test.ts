/**
 * CRuby end to end: ruby.wasm (`@ruby/3.4-wasm-wasi`, 30 MB, a WASI reactor
 * with the standard library inside) initialised in the sandbox, evaluating
 * Ruby, snapshot after initialisation restored into fresh instances, and
 * runaway Ruby stopped by gas and by time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { type RubyVm, restoreRuby, startRuby } from '../../examples/ruby/ruby';

const rubyWasm = new Uint8Array(
  readFileSync(createRequire(import.meta.url).resolve('@ruby/3.4-wasm-wasi/dist/ruby+stdlib.wasm')),
);

const SCRIPT = `
squares = (1..5).map { |n| n * n }
puts squares.sum
puts Time.now.utc
puts Random.rand(1000)
puts [3, 1, 2].sort.inspect
File.write("/note.txt", "kept")
puts File.read("/note.txt")
`;

/** The start of what SCRIPT prints: the clock is the event time plus virtual time (a second or two of gas). */
const EXPECTED = /^55\n2023-11-14 22:13:2\d UTC\n/;

let vm: RubyVm;
let afterInit: Uint8Array;

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('CRuby (ruby.wasm) in the sandbox', () => {
  beforeAll(async () => {
    vm = unwrap(await startRuby(createWasmSandbox(), rubyWasm, { deterministicSeed: 7 }));
    afterInit = unwrap(vm.snapshot());
  }, 120_000);

  it('evaluates Ruby and captures what it prints, with virtual time and seeded randomness', () => {
    const run = vm.eval(SCRIPT);
    expect(run).toMatchObject({ ok: true, stderr: '' });
    expect(run.stdout).toMatch(EXPECTED);
    expect(run.stdout).toMatch(/\n\[1, 2, 3\]\nkept\n$/);
    expect(run.gasUsed).toBeGreaterThan(0);
    const files = unwrap(vm.sandbox.readFiles(vm.instance));
    expect(new TextDecoder().decode(files['/note.txt'])).toBe('kept');
  });

  it('reports an uncaught exception on stderr, with its line, and keeps going', () => {
    const failed = vm.eval('x = 1\nraise ArgumentError, "bad input"');
    expect(failed).toMatchObject({ ok: true, stdout: '' });
    expect(failed.stderr).toContain('main.rb:2');
    expect(failed.stderr).toContain('bad input (ArgumentError)');
    expect(vm.eval('puts 6 * 7')).toMatchObject({ ok: true, stdout: '42\n', stderr: '' });
  });

  it('gives Ruby no JavaScript', () => {
    const run = vm.eval('require "js"; puts :required; JS.global');
    expect(run).toMatchObject({ ok: false, stdout: 'required\n', error: { code: 'HOST_FUNCTION_ERROR' } });
    expect(run.error?.message).toContain('this sandbox offers none');
  });

  it('restores the snapshot taken after initialisation into fresh instances: same output, gas and memory', async () => {
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const fresh = unwrap(await restoreRuby(createWasmSandbox(), rubyWasm, afterInit));
      const run = fresh.eval(SCRIPT);
      runs.push({ run, snapshot: await sha256(unwrap(fresh.snapshot())) });
      fresh.sandbox.destroy(fresh.instance);
    }
    const [first, second] = runs;
    expect(first?.run).toMatchObject({ ok: true, stderr: '' });
    expect(first?.run.stdout).toMatch(EXPECTED);
    expect(second).toEqual(first);
  }, 120_000);

  it('stops `loop {}` by gas, and the interpreter stays usable from its snapshot', async () => {
    const small = unwrap(await restoreRuby(createWasmSandbox(), rubyWasm, afterInit, { maxGas: 5_000_000 }));
    const run = small.eval('loop {}');
    expect(run).toMatchObject({ ok: false, error: { code: 'GAS_EXHAUSTED' } });
    expect(run.gasUsed).toBe(5_000_000);
    unwrap(small.sandbox.restore(small.instance, afterInit));
    expect(small.eval('puts :again')).toMatchObject({ ok: true, stdout: 'again\n' });
  }, 120_000);

  it('stops `loop {}` by time', async () => {
    const sandbox = createWasmSandbox();
    const timed = unwrap(
      await restoreRuby(sandbox, rubyWasm, afterInit, { maxGas: 1e15, maxExecutionMs: 200 }),
    );
    const started = performance.now();
    const run = timed.eval('loop {}');
    expect(run).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 120_000);
});
