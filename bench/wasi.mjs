// WASI benchmarks (issue #12): fd_write calls per second into captured stdout, metered; appending
// 32 MiB to a virtual file in 4 KiB writes; and CRuby (ruby.wasm) brought up in the sandbox against
// the same module instantiated raw with a plain WASI import object (@ri-sandbox/wasi on its own).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { TextEncoder, promisify } from 'node:util';
import { build } from 'esbuild';
import { canonicalArgs, createWasmSandbox } from '@ri-sandbox/sandbox';
import { directoryStore } from '@ri-sandbox/sandbox/node';
import { Wasi } from '@ri-sandbox/wasi';
import { compare, median, ms, ratio, table, watToBytes } from './lib.mjs';

const require = createRequire(import.meta.url);
const execFileAsync = promisify(execFile);

function must(result) {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** The Ruby helper of examples/ruby (TypeScript), bundled for this script with the packages left as imports. */
async function rubyHelper() {
  const outfile = fileURLToPath(new URL('../examples/ruby/dist/ruby.mjs', import.meta.url));
  await build({
    entryPoints: [fileURLToPath(new URL('../examples/ruby/ruby.ts', import.meta.url))],
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'neutral',
    outfile,
    logLevel: 'error',
  });
  return import(outfile);
}

// `writes(n)`: n calls of fd_write of 16 bytes to stdout. `append(n)`: opens /log (create, truncate)
// and appends n writes of 4 KiB to it.
const WRITER = watToBytes(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "sixteen bytes..\\n")
  (data (i32.const 128) "log")
  (func (export "writes") (param $n i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (loop $next
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "append") (param $n i32) (local $fd i32)
    ;; oflags: create | truncate; rights: fd_write
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 128) (i32.const 3) (i32.const 9)
      (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 16)))
    (local.set $fd (i32.load (i32.const 16)))
    (i32.store (i32.const 0) (i32.const 4096))
    (i32.store (i32.const 4) (i32.const 4096))
    (loop $next
      (drop (call $write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))`);

const WRITES = 200_000;
const APPENDS = (32 << 20) / 4096;

async function writerInSandbox(sandbox) {
  const instance = must(
    sandbox.create({ maxGas: 1e12, maxExecutionMs: 1e9, maxMemoryBytes: 1 << 20, wasi: {} }),
  );
  must(await sandbox.load(instance, WRITER));
  return instance;
}

function writerStandalone() {
  const wasi = must(Wasi.create({}));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(WRITER), wasi.imports);
  wasi.attach(instance);
  return { wasi, exports: instance.exports };
}

async function io(log) {
  log('wasi: fd_write and appends');
  const sandbox = createWasmSandbox();
  const metered = await writerInSandbox(sandbox);
  const raw = writerStandalone();
  const chunk = new Uint8Array(4096).fill(7);
  const times = compare(
    {
      sandboxWrites: () => must(sandbox.execute(metered, 'writes', WRITES)),
      rawWrites: () => {
        raw.exports.writes(WRITES);
        raw.wasi.takeOutput();
      },
      sandboxAppend: () => must(sandbox.execute(metered, 'append', APPENDS)),
      rawAppend: () => raw.exports.append(APPENDS),
      // The floor: the same bytes copied into one growing buffer by JavaScript, 4 KiB at a time.
      copyAppend: () => {
        let buffer = new Uint8Array(4096);
        let length = 0;
        for (let i = 0; i < APPENDS; i++) {
          if (length + 4096 > buffer.length) {
            const grown = new Uint8Array(buffer.length * 2);
            grown.set(buffer.subarray(0, length));
            buffer = grown;
          }
          buffer.set(chunk, length);
          length += 4096;
        }
      },
    },
    { rounds: 9, warmup: 2 },
  );
  return {
    writesPerSecond: (WRITES / times.sandboxWrites) * 1000,
    rawWritesPerSecond: (WRITES / times.rawWrites) * 1000,
    appendMBps: 32 / 1.048576 / (times.sandboxAppend / 1000),
    rawAppendMBps: 32 / 1.048576 / (times.rawAppend / 1000),
    copyAppendMBps: 32 / 1.048576 / (times.copyAppend / 1000),
    times,
  };
}

const RUBY_ARGS = ['ruby', '-EUTF-8', '-e_=0'].map((arg) => `${arg}\0`);

/** Compile, instantiate with @ri-sandbox/wasi's imports and plain handle imports, `_initialize`, `ruby-init`. */
async function rubyRaw(bytes) {
  const started = performance.now();
  const module = await WebAssembly.compile(bytes);
  const wasi = must(Wasi.create({ args: ['ruby'] }));
  const imports = { ...wasi.imports, 'rb-js-abi-host': {}, canonical_abi: {} };
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    if (from === 'canonical_abi')
      imports[from][name] = name.startsWith('resource_drop') ? () => {} : (h) => h;
    else if (from === 'rb-js-abi-host')
      imports[from][name] = () => {
        throw new Error('no JavaScript');
      };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  wasi.attach(instance);
  const { exports } = instance;
  exports._initialize();
  const encoder = new TextEncoder();
  const list = exports.cabi_realloc(0, 0, 4, RUBY_ARGS.length * 8);
  for (const [i, arg] of RUBY_ARGS.entries()) {
    const text = encoder.encode(arg);
    const at = exports.cabi_realloc(0, 0, 1, text.length);
    new Uint8Array(exports.memory.buffer).set(text, at);
    const view = new DataView(exports.memory.buffer);
    view.setUint32(list + i * 8, at, true);
    view.setUint32(list + i * 8 + 4, text.length, true);
  }
  const loaded = performance.now();
  const init = Object.keys(exports).find((name) => name.startsWith('ruby-init:'));
  exports[init](list, RUBY_ARGS.length);
  return { total: performance.now() - started, init: performance.now() - loaded };
}

/**
 * One measurement in this process: `raw`; `sandbox` (load and initialise, then a restore from the
 * snapshot); or `prepared` (a load alone, by a sandbox with the store of prepared modules in `directory`).
 */
async function rubyOnce(kind, directory) {
  const bytes = new Uint8Array(readFileSync(require.resolve('@ruby/3.4-wasm-wasi/dist/ruby+stdlib.wasm')));
  if (kind === 'raw') return { bytes: bytes.length, ...(await rubyRaw(bytes)) };
  const { RUBY_DEFAULTS, restoreRuby, rubyHostFunctions } = await rubyHelper();
  const sandbox = createWasmSandbox(
    kind === 'prepared' ? { preparedModules: directoryStore(directory) } : {},
  );
  // What startRuby does, minus its warm-up, so that both sides do the same work.
  const started = performance.now();
  const instance = must(sandbox.create({ ...RUBY_DEFAULTS, hostFunctions: rubyHostFunctions(bytes) }));
  const info = must(await sandbox.load(instance, bytes));
  const load = performance.now() - started;
  if (kind === 'prepared') return { load };
  const init = info.exports.find((e) => e.name.startsWith('ruby-init:')).name;
  const initialised = sandbox.execute(instance, init, canonicalArgs(RUBY_ARGS));
  must(initialised);
  const total = performance.now() - started;
  const snapshot = must(sandbox.snapshot(instance));
  sandbox.destroy(instance);
  // What a service does instead of initialising again: a fresh instance from the snapshot.
  const again = performance.now();
  must(await restoreRuby(sandbox, bytes, snapshot));
  return {
    total,
    load,
    init: initialised.durationMs,
    gas: initialised.gasUsed,
    restored: performance.now() - again,
    snapshotBytes: snapshot.length,
  };
}

/**
 * CRuby measured in fresh processes, raw, sandboxed and sandboxed with a store of prepared modules in
 * turn: within one process V8 reuses the code it compiled for the same bytes, tiered up, and later
 * rounds would not be first loads. The store is filled by a process of its own first.
 */
async function ruby(log) {
  log('wasi: CRuby (fresh processes)');
  const directory = mkdtempSync(join(tmpdir(), 'ri-sandbox-bench-prepared-'));
  const once = async (kind) => {
    const script = fileURLToPath(import.meta.url);
    return JSON.parse((await execFileAsync(process.execPath, [script, kind, directory])).stdout);
  };
  try {
    await once('prepared');
    const rounds = 7;
    const runs = { raw: [], sandbox: [], prepared: [] };
    for (let round = 0; round < rounds; round++) {
      for (const kind of ['raw', 'sandbox', 'prepared']) runs[kind].push(await once(kind));
    }
    const of = (kind, field) => median(runs[kind].map((r) => r[field]));
    const last = runs.sandbox.at(-1);
    return {
      bytes: runs.raw[0].bytes,
      raw: { total: of('raw', 'total'), init: of('raw', 'init') },
      sandboxed: { total: of('sandbox', 'total'), init: of('sandbox', 'init'), gas: last.gas },
      load: of('sandbox', 'load'),
      preparedLoad: of('prepared', 'load'),
      restored: of('sandbox', 'restored'),
      snapshotBytes: last.snapshotBytes,
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await rubyOnce(process.argv[2], process.argv[3])));
}

export async function run(log) {
  return { io: await io(log), ruby: await ruby(log) };
}

const perSecond = (value) => `${(value / 1e6).toFixed(2)} M/s`;
const mbps = (value) => `${value.toFixed(0)} MB/s`;

export function report({ io: r, ruby: rb }) {
  return [
    '### WASI (ratios in one run)',
    '',
    table(
      ['figure', 'sandbox (metered)', '@ri-sandbox/wasi alone (raw)', 'target'],
      [
        [
          `fd_write of 16 bytes to captured stdout (${WRITES.toLocaleString('en-US')} calls)`,
          perSecond(r.writesPerSecond),
          perSecond(r.rawWritesPerSecond),
          '>= 1 M/s metered',
        ],
        [
          '32 MiB appended to a file in 4 KiB writes',
          mbps(r.appendMBps),
          mbps(r.rawAppendMBps),
          `>= 500 MB/s (JavaScript copy into a doubling buffer: ${mbps(r.copyAppendMBps)})`,
        ],
      ],
    ),
    '',
    table(
      ['CRuby (ruby.wasm, ' + (rb.bytes / 2 ** 20).toFixed(1) + ' MiB)', 'sandbox', 'raw', 'sandbox / raw'],
      [
        [
          'initialisation run (`_initialize` done, `ruby-init`)',
          ms(rb.sandboxed.init),
          ms(rb.raw.init),
          ratio(rb.sandboxed.init / rb.raw.init),
        ],
        [
          'load and initialise (compile, transforms, instantiate, `_initialize`, `ruby-init`)',
          ms(rb.sandboxed.total),
          ms(rb.raw.total),
          ratio(rb.sandboxed.total / rb.raw.total),
        ],
        [
          'a fresh instance from the snapshot taken after initialisation (instead of initialising)',
          ms(rb.restored),
          ms(rb.raw.total),
          ratio(rb.restored / rb.raw.total),
        ],
      ],
    ),
    '',
    `Initialisation uses ${rb.sandboxed.gas.toLocaleString('en-US')} gas; the snapshot after it is ` +
      `${(rb.snapshotBytes / 2 ** 20).toFixed(1)} MiB. Target: initialisation within 1.5x of raw. The load ` +
      'transforms of a 30 MB module dominate the whole path (speed issue #11), unless a store of prepared ' +
      'modules holds what they made:',
    '',
    table(
      ['load of ruby.wasm in a new process', 'transforming it', 'from a store of prepared modules', 'ratio'],
      [
        [
          'compile (or transforms and compile), instantiate',
          ms(rb.load),
          ms(rb.preparedLoad),
          ratio(rb.preparedLoad / rb.load),
        ],
      ],
    ),
  ].join('\n');
}
