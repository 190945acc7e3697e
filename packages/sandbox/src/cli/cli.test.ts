import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defineHostFunction } from '@ri-sandbox/core';
import { type FixtureName, fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../../core/test/wat';
import { GENEROUS_MS, hostFunctions } from '../../test/helpers';
import { type CommandSpec, UsageError, numberOption, parseArgs, sizeOption } from './args';
import { type CliIo, EXIT_CODES, HELP, VERSION, runCli } from './main';

const WAT_FILES: Record<string, string> = {
  'bad.wat': '(module (func (export "f") (result i32) (i64.const 1)))',
  'add.wat':
    '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))',
};

/** Runs the CLI in-process against fixtures (`<name>.wasm`) and the WAT above; returns what it printed. */
async function cli(
  argv: string[],
  modules: Record<string, Record<string, unknown>> = {},
  files = new Map<string, Uint8Array>(),
) {
  let stdout = '';
  let stderr = '';
  const decoder = new TextDecoder();
  const io: CliIo = {
    stdout: (text) => (stdout += typeof text === 'string' ? text : decoder.decode(text)),
    stderr: (text) => (stderr += typeof text === 'string' ? text : decoder.decode(text)),
    readStdin: () => Promise.resolve(files.get('<stdin>') ?? new Uint8Array()),
    readFolder: (path) => {
      const prefix = `${path}/`;
      const found = [...files].filter(([name]) => name.startsWith(prefix));
      if (found.length === 0) return Promise.reject(new Error(`no such folder: ${path}`));
      return Promise.resolve(
        Object.fromEntries(found.map(([name, bytes]) => [name.slice(prefix.length), bytes])),
      );
    },
    readFile: (path) => {
      const written = files.get(path);
      if (written !== undefined) return Promise.resolve(written);
      if (path in WAT_FILES) return Promise.resolve(new TextEncoder().encode(WAT_FILES[path]));
      if (path === 'garbage.wasm') return Promise.resolve(new Uint8Array([1, 2, 3]));
      try {
        return Promise.resolve(fixture(path.replace(/\.wasm$/, '') as FixtureName));
      } catch {
        return Promise.reject(new Error(`no such file: ${path}`));
      }
    },
    writeFile: (path, bytes) => {
      if (path.startsWith('/readonly/')) return Promise.reject(new Error(`cannot write ${path}: EACCES`));
      files.set(path, bytes);
      return Promise.resolve();
    },
    makeFolder: (path) =>
      path.startsWith('/readonly/')
        ? Promise.reject(new Error(`cannot make the folder ${path}: EACCES`))
        : Promise.resolve(),
    preparedStore: (folder) => ({
      get: (key) => files.get(`${folder}/${key}`),
      set: (key, artifact) => files.set(`${folder}/${key}`, artifact),
    }),
    watToWasm: (source, path) => {
      try {
        return Promise.resolve(wat(source));
      } catch {
        return Promise.reject(new Error(`${path} is not valid WebAssembly text`));
      }
    },
    importModule: (path) => {
      const module = modules[path];
      return module === undefined
        ? Promise.reject(new Error(`cannot import ${path}`))
        : Promise.resolve(module);
    },
  };
  const code = await runCli(withGenerousTimeout(argv), io);
  return { code, stdout, stderr };
}

/**
 * `argv` with `--timeout` set far above what any run here needs, unless it
 * sets one: the default 50 ms could turn a cold module's first call into
 * TIMEOUT on a machine whose cores are busy elsewhere.
 */
function withGenerousTimeout(argv: string[]): string[] {
  if (argv[0] !== 'run' || argv.some((arg) => arg.startsWith('--timeout'))) return argv;
  return [...argv, `--timeout=${GENEROUS_MS}`];
}

describe('ri-sandbox bench', () => {
  it('runs the performance suite with progress on stderr and prints the table', async () => {
    const { code, stdout, stderr } = await cli(['bench', '--instances', '3']);
    expect(code).toBe(0);
    expect(stderr).toBe(
      '[1/6] create\n[2/6] snapshot and restore\n[3/6] load\n[4/6] execute\n[5/6] end to end\n[6/6] live instances\n',
    );
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('| operation | ri-sandbox | baseline | baseline time | ratio | target |');
    expect(lines.slice(2).map((line) => line.split(' | ')[0])).toEqual([
      '| create',
      '| first load (9 KB module)',
      '| first load (9 KB module)',
      '| load again (compiled module cached)',
      '| load again (compiled module cached)',
      '| load again (compiled module cached)',
      '| execute(add), per call',
      '| execute(fib, 20), all instrumentation',
      '| snapshot (1 page)',
      '| snapshot (1 page) into a buffer kept',
      '| restore (1 page)',
      '| create + load + execute + destroy',
      '| live instances in one process',
    ]);
    expect(lines.at(-1)).toMatch(/^\| live instances in one process \| 3 \| all functional of \| 3 \|/);
    expect(lines[2]).toMatch(
      /^\| create \| [\d.]+ (ns|µs|ms) \| new WebAssembly.Memory \| [\d.]+ (ns|µs|ms) \| [\d.]+x \|/,
    );
  }, 300_000);

  it('refuses a count of instances below 1', async () => {
    expect(await cli(['bench', '--instances', '0'])).toMatchObject({
      code: EXIT_CODES.USAGE,
      stderr: 'error: --instances must be at least 1\n',
    });
  });
});

describe('ri-sandbox run', () => {
  it('saves the state after an action and restores it before the next', async () => {
    const files = new Map<string, Uint8Array>();
    const first = await cli(['run', 'counter.wasm', 'add', '41', '--snapshot-out', 'state.wsnp'], {}, files);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/\nstate {3}[\d,]+ bytes written to state\.wsnp\n$/);
    const second = await cli(
      [
        'run',
        'counter.wasm',
        'increment',
        '--restore',
        'state.wsnp',
        '--snapshot-out',
        'next.wsnp',
        '--json',
      ],
      {},
      files,
    );
    expect(JSON.parse(second.stdout)).toMatchObject({ ok: true, value: 42, snapshot: 'next.wsnp' });
    expect((await cli(['run', 'counter.wasm', 'get', '--restore', 'next.wsnp'], {}, files)).stdout).toMatch(
      /^result {2}42\n/,
    );
  });

  it('keeps prepared modules in a folder, which later runs load from, with the same outcome', async () => {
    const files = new Map<string, Uint8Array>();
    const first = await cli(
      ['run', 'fibonacci.wasm', 'fib', '20', '--prepared', 'cache', '--json'],
      {},
      files,
    );
    /** What a run printed, without how long it took. */
    const outcome = (run: { code: number; stdout: string }) => {
      const printed = JSON.parse(run.stdout) as { metrics: Record<string, unknown> };
      return [run.code, { ...printed, durationMs: 0, metrics: { ...printed.metrics, executionMs: 0 } }];
    };
    const kept = [...files.keys()];
    expect(kept).toEqual([expect.stringMatching(/^cache\/[0-9a-f]{64}$/)]);
    // The next run finds it (and writes nothing); a damaged one is replaced.
    const second = await cli(
      ['run', 'fibonacci.wasm', 'fib', '20', '--prepared', 'cache', '--json'],
      {},
      files,
    );
    expect(outcome(second)).toEqual(outcome(first));
    expect([...files.keys()]).toEqual(kept);
    const artifact = files.get(kept[0] as string) as Uint8Array;
    files.set(kept[0] as string, artifact.subarray(0, 10));
    const third = await cli(
      ['run', 'fibonacci.wasm', 'fib', '20', '--prepared', 'cache', '--json'],
      {},
      files,
    );
    expect(outcome(third)).toEqual(outcome(first));
    expect(files.get(kept[0] as string)).toEqual(artifact);
    expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, value: '6765', metrics: { gasUsed: 229852 } });
    const unmakeable = await cli(['run', 'fibonacci.wasm', 'fib', '20', '--prepared', '/readonly/cache']);
    expect(unmakeable).toMatchObject({
      code: EXIT_CODES.USAGE,
      stderr: 'error: cannot make the folder /readonly/cache: EACCES\n',
    });
  });

  it('refuses a bad or foreign snapshot in one line with its own exit code', async () => {
    const files = new Map<string, Uint8Array>([['junk.wsnp', new Uint8Array([1, 2, 3])]]);
    const junk = await cli(['run', 'counter.wasm', 'get', '--restore', 'junk.wsnp'], {}, files);
    expect(junk).toMatchObject({ code: EXIT_CODES.SNAPSHOT_ERROR, stdout: '' });
    expect(junk.stderr).toBe(
      'SNAPSHOT_ERROR: snapshot failed: not a snapshot: bad magic (expected "WSNP")\n',
    );
    await cli(['run', 'counter.wasm', 'get', '--snapshot-out', 'counter.wsnp'], {}, files);
    const foreign = await cli(['run', 'fibonacci.wasm', 'fib', '3', '--restore', 'counter.wsnp'], {}, files);
    expect(foreign.stderr).toMatch(/^SNAPSHOT_ERROR: .*different module\n$/);
    const missing = await cli(['run', 'counter.wasm', 'get', '--restore', 'nowhere.wsnp']);
    expect(missing).toMatchObject({ code: EXIT_CODES.USAGE, stderr: 'error: no such file: nowhere.wsnp\n' });
    const unwritable = await cli(['run', 'counter.wasm', 'get', '--snapshot-out', '/readonly/x']);
    expect(unwritable).toMatchObject({
      code: EXIT_CODES.USAGE,
      stderr: 'error: cannot write /readonly/x: EACCES\n',
    });
    const bare = await cli(['run', 'counter.wasm', 'get', '--snapshot-out=']);
    expect(bare.code).toBe(EXIT_CODES.USAGE);
  });

  it('prints the result and the metrics as a table', async () => {
    const { code, stdout } = await cli(['run', 'fibonacci.wasm', 'fib', '20']);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^result {2}6765n\ngas {5}229,852 of 1,000,000\nmemory {2}0 of 16,777,216 bytes\ntime {4}[\d.]+ of 60,000 ms\n$/,
    );
  });

  it('runs WebAssembly text, JSON payloads and JSON output', async () => {
    expect((await cli(['run', 'add.wat', 'add', '[2, 3]'])).stdout).toMatch(/^result {2}5\n/);
    const sort = await cli(['run', 'sort.wasm', 'sort', '{"values":[3,1,2]}', '--json']);
    expect(sort.code).toBe(0);
    expect(JSON.parse(sort.stdout)).toMatchObject({
      ok: true,
      value: [1, 2, 3],
      metrics: { gasLimit: 1_000_000 },
    });
    const big = await cli(['run', 'fibonacci.wasm', 'fib_iter', '80', '--json']);
    expect(JSON.parse(big.stdout)).toMatchObject({ value: '23416728348467685' });
  });

  it('applies the limits given as options', async () => {
    const gas = await cli(['run', 'infinite-loop.wasm', 'run', '--max-gas', '1000']);
    expect(gas).toMatchObject({ code: EXIT_CODES.GAS_EXHAUSTED, stdout: '' });
    expect(gas.stderr).toBe(
      'GAS_EXHAUSTED: gas exhausted: used 1000 of 1000 (raise maxGas or do less work per call)\n',
    );
    const time = await cli(['run', 'infinite-loop.wasm', 'run', '--max-gas=1000000000000', '--timeout=10']);
    expect(time.code).toBe(EXIT_CODES.TIMEOUT);
    const memory = await cli(['run', 'memory-hog.wasm', 'hog', '--max-memory', '128KiB', '--json']);
    expect(memory.code).toBe(EXIT_CODES.MEMORY_EXCEEDED);
    expect(JSON.parse(memory.stdout)).toMatchObject({
      ok: false,
      error: { code: 'MEMORY_EXCEEDED', memoryLimit: 131072 },
    });
    expect(
      (await cli(['run', 'add.wasm', 'add', '[1,2]', '--seed', '7', '--time', '1700000000000'])).code,
    ).toBe(0);
  });

  it('loads host functions from a module', async () => {
    const host_add = defineHostFunction({
      name: 'host_add',
      params: ['i32', 'i32'],
      results: ['i32'],
      handler: (a, b) => a * b,
    });
    const { host_log, host_i64 } = hostFunctions();
    const asObject = await cli(['run', 'host-caller.wasm', 'call_add', '[6, 7]', '--host-fns', 'host.mjs'], {
      'host.mjs': { default: { host_add, host_log, host_i64 } },
    });
    expect(asObject.stdout).toMatch(/^result {2}42\n/);
    const asArray = await cli(['run', 'host-caller.wasm', 'call_add', '[6, 7]', '--host-fns', 'host.mjs'], {
      'host.mjs': { default: [host_add, host_log, host_i64] },
    });
    expect(asArray.stdout).toMatch(/^result {2}42\n/);
    const missing = await cli(['run', 'host-caller.wasm', 'call_add', '[6, 7]']);
    expect(missing.code).toBe(EXIT_CODES.INVALID_MODULE);
    const bad = await cli(['run', 'host-caller.wasm', 'call_add', '--host-fns', 'bad.mjs'], {
      'bad.mjs': { default: 5 },
    });
    expect(bad).toMatchObject({
      code: EXIT_CODES.USAGE,
      stderr: 'error: bad.mjs must export default an object of host functions (or an array of them)\n',
    });
  });

  it.each([
    [['run', 'traps.wasm', 'unreachable'], EXIT_CODES.WASM_TRAP, /^WASM_TRAP: unreachable\n$/],
    [
      ['run', 'garbage.wasm', 'x'],
      EXIT_CODES.INVALID_MODULE,
      /^INVALID_MODULE: invalid module: input too short/,
    ],
    [['run', 'bad.wat', 'f'], EXIT_CODES.USAGE, /^error: bad.wat is not valid WebAssembly text\n$/],
    [['run', 'add.wasm', 'add', '[1]'], EXIT_CODES.OTHER, /^INVALID_PAYLOAD: /],
    [['run', 'add.wasm', 'add', '{oops'], EXIT_CODES.USAGE, /^error: the payload is not JSON: /],
    [['run', 'missing.wasm', 'x'], EXIT_CODES.USAGE, /^error: no such file: missing.wasm\n$/],
    [['run', 'add.wasm'], EXIT_CODES.USAGE, /^error: usage: ri-sandbox run/],
    [
      ['run', 'add.wasm', 'add', '--max-gas', 'lots'],
      EXIT_CODES.USAGE,
      /^error: --max-gas must be a number, got lots$/m,
    ],
    [
      ['run', 'add.wasm', 'add', '--max-gas', '-5'],
      EXIT_CODES.USAGE,
      /^error: --max-gas must not be negative, got -5$/m,
    ],
    [
      ['run', 'add.wasm', 'add', '--max-gas', '1.5'],
      EXIT_CODES.USAGE,
      /--max-gas must be an integer, got 1.5/,
    ],
    [
      ['run', 'add.wasm', 'add', '--max-memory', '12 parsecs'],
      EXIT_CODES.USAGE,
      /--max-memory must be a size/,
    ],
    [
      ['run', 'add.wasm', 'add', '--max-memory', '8GiB'],
      EXIT_CODES.USAGE,
      /^error: --max-memory must be at most 4 GiB/,
    ],
    [
      ['run', 'add.wat', 'add', '2', '3'],
      EXIT_CODES.USAGE,
      /^error: unexpected argument "3": usage: ri-sandbox run/,
    ],
    [
      ['run', 'loop.wat', 'run', '--max-gass', '10'],
      EXIT_CODES.USAGE,
      /unknown option --max-gass for run; did you mean --max-gas\?/,
    ],
    [
      ['run', 'add.wasm', 'add', '--bogus'],
      EXIT_CODES.USAGE,
      /^error: unknown option --bogus for run \(options: --max-gas/,
    ],
    [['--bogus'], EXIT_CODES.USAGE, /^error: unknown option --bogus \(try: ri-sandbox --help\)/],
    [['--version', 'x'], EXIT_CODES.USAGE, /--version takes nothing after it/],
    [['inspect', 'add.wasm', 'more.wasm'], EXIT_CODES.USAGE, /unexpected argument "more.wasm"/],
    [['run', 'add.wasm', 'add', '--timeout'], EXIT_CODES.USAGE, /--timeout needs a value/],
    [['frobnicate'], EXIT_CODES.USAGE, /unknown command "frobnicate"/],
  ])('answers %j with exit code %i and one line', async (argv, exitCode, stderr) => {
    const result = await cli(argv);
    expect(result.code).toBe(exitCode);
    expect(result.stderr).toMatch(stderr);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('prints help (exit 0 when asked for, 1 with no command), documenting the exit codes, and its version', async () => {
    for (const argv of [['help'], ['--help'], ['-h'], ['run', '--help'], ['inspect', 'x.wasm', '-h']])
      expect(await cli(argv)).toMatchObject({ code: 0, stdout: HELP, stderr: '' });
    expect(await cli([])).toMatchObject({ code: 1, stdout: HELP });
    expect(HELP).toContain('4  GAS_EXHAUSTED');
    expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: `ri-sandbox ${VERSION}\n` });
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('takes fractional timeouts, as the API does', async () => {
    const { code, stdout } = await cli(['run', 'add.wasm', 'add', '[1, 2]', '--timeout', '1500.5']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\ntime {4}[\d.]+ of 1,500.5 ms\n$/);
  });

  it("prints a host function's error and its cause readably with --json", async () => {
    const { host_log, host_i64 } = hostFunctions();
    const host_add = defineHostFunction({
      name: 'host_add',
      params: ['i32', 'i32'],
      results: ['i32'],
      handler: () => {
        throw new RangeError('no adding today');
      },
    });
    const failed = await cli(
      ['run', 'host-caller.wasm', 'call_add', '[6, 7]', '--host-fns', 'host.mjs', '--json'],
      {
        'host.mjs': { default: { host_add, host_log, host_i64 } },
      },
    );
    expect(failed.code).toBe(EXIT_CODES.HOST_FUNCTION_ERROR);
    expect(JSON.parse(failed.stdout)).toEqual({
      ok: false,
      error: {
        code: 'HOST_FUNCTION_ERROR',
        message: 'host function "host_add" failed: no adding today',
        functionName: 'host_add',
        cause: { name: 'RangeError', message: 'no adding today' },
      },
    });
  });
});

/**
 * A WASI command: prints every argument on a line, the value of the variable NAME, what it reads from
 * standard input and from data/in.txt, and exits with its number of arguments.
 */
const WASI_COMMAND = wat(`(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 900) "data/in.txt")
  (func $print (param $at i32) (param $length i32)
    (i32.store (i32.const 800) (local.get $at))
    (i32.store (i32.const 804) (local.get $length))
    (drop (call $write (i32.const 1) (i32.const 800) (i32.const 1) (i32.const 808))))
  ;; NULs to newlines in [at, at + length), then print it.
  (func $lines (param $at i32) (param $length i32) (local $i i32)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $length)))
      (if (i32.eqz (i32.load8_u (i32.add (local.get $at) (local.get $i))))
        (then (i32.store8 (i32.add (local.get $at) (local.get $i)) (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (call $print (local.get $at) (local.get $length)))
  (func $copy (param $fd i32)
    (i32.store (i32.const 800) (i32.const 20000))
    (i32.store (i32.const 804) (i32.const 4096))
    (if (i32.eqz (call $read (local.get $fd) (i32.const 800) (i32.const 1) (i32.const 812)))
      (then (call $print (i32.const 20000) (i32.load (i32.const 812))))))
  (func (export "_start")
    (drop (call $args_sizes (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 100) (i32.const 1000)))
    (call $lines (i32.const 1000) (i32.load (i32.const 4)))
    (drop (call $env_sizes (i32.const 8) (i32.const 12)))
    (drop (call $env_get (i32.const 100) (i32.const 10000)))
    (call $lines (i32.const 10000) (i32.load (i32.const 12)))
    (call $copy (i32.const 0))
    (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 900) (i32.const 11) (i32.const 0)
          (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
      (then (call $copy (i32.load (i32.const 16)))))
    (call $exit (i32.load (i32.const 0)))))`);

describe('ri-sandbox run, for a WASI command', () => {
  it('runs it as wasmtime run does: arguments, environment, folders, piped input, its output and exit code', async () => {
    const files = new Map<string, Uint8Array>([
      ['cmd.wasm', WASI_COMMAND],
      ['<stdin>', new TextEncoder().encode('piped\n')],
      ['host/in.txt', new TextEncoder().encode('from the host folder\n')],
    ]);
    const result = await cli(
      ['run', 'cmd.wasm', 'one', 'two words', '--env', 'NAME=value', '--env', 'A=b', '--dir', 'host::/data'],
      {},
      files,
    );
    expect(result).toEqual({
      code: 3,
      stdout: 'cmd.wasm\none\ntwo words\nNAME=value\nA=b\npiped\nfrom the host folder\n',
      stderr: '',
    });
  });

  it('keeps the limit errors’ exit codes, and prints JSON with the output inside', async () => {
    const files = new Map<string, Uint8Array>([['cmd.wasm', WASI_COMMAND]]);
    const starved = await cli(['run', 'cmd.wasm', '--max-gas', '10'], {}, files);
    expect(starved).toMatchObject({
      code: EXIT_CODES.GAS_EXHAUSTED,
      stderr: expect.stringMatching(/^GAS_EXHAUSTED: /) as unknown,
    });
    const json = await cli(['run', 'cmd.wasm', 'x', '--json'], {}, files);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      value: 2,
      output: { stdout: 'cmd.wasm\nx\n', stderr: '' },
    });
  });

  it('refuses --dir and --env for a module without WASI, and bad ones', async () => {
    const files = new Map<string, Uint8Array>([['cmd.wasm', WASI_COMMAND]]);
    expect(await cli(['run', 'add.wasm', 'add', '[1, 2]', '--env', 'A=b'])).toMatchObject({
      code: EXIT_CODES.USAGE,
      stderr: 'error: --dir and --env are for WASI modules, and this one does not import WASI\n',
    });
    expect(await cli(['run', 'cmd.wasm', '--env', 'novalue'], {}, files)).toMatchObject({
      code: EXIT_CODES.USAGE,
      stderr: 'error: --env must be name=value, got novalue\n',
    });
    expect(await cli(['run', 'cmd.wasm', '--dir', 'nowhere'], {}, files)).toMatchObject({
      code: EXIT_CODES.USAGE,
      stderr: 'error: no such folder: nowhere\n',
    });
    expect(await cli(['run', 'add.wasm'])).toMatchObject({
      code: EXIT_CODES.USAGE,
      stderr: 'error: usage: ri-sandbox run <module> <action> [payload-json]\n',
    });
  });
});

describe('ri-sandbox inspect', () => {
  it('lists imports with what the sandbox does about each, exports, memory and features', async () => {
    const { code, stdout } = await cli(['inspect', 'host-caller.wasm']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      'env.host_add  function (i32, i32) -> i32  needs a host function of this name and signature',
    );
    expect(stdout).toContain('call_add  function (i32, i32) -> i32');
    expect(stdout).toContain('defined: 1 pages initially, maximum none');
    expect(stdout).toContain('load  accepted');
  });

  it('says what load would refuse, and why', async () => {
    WAT_FILES['wasi.wat'] = `(module
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (import "env" "memory" (memory 1))
      (func (export "f") (i32.atomic.store (i32.const 0) (i32.const 1))))`;
    const { code, stdout } = await cli(['inspect', 'wasi.wat']);
    expect(code).toBe(EXIT_CODES.INVALID_MODULE);
    expect(stdout).toContain(
      'wasi_snapshot_preview1.fd_write  function (i32, i32, i32, i32) -> i32  refused',
    );
    expect(stdout).toContain('env.memory  memory  provided by the sandbox');
    expect(stdout).toContain('features beyond MVP  threads');
    expect(stdout).toContain('load  refused: wasi_snapshot_preview1.fd_write');
    expect((await cli(['inspect', 'garbage.wasm'])).code).toBe(EXIT_CODES.INVALID_MODULE);
    expect((await cli(['inspect'])).code).toBe(EXIT_CODES.USAGE);
  });

  it('prints the same as JSON with --json', async () => {
    const { code, stdout } = await cli(['inspect', 'host-caller.wasm', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      ok: true,
      module: 'host-caller.wasm',
      valid: true,
      refused: [],
      memory: 'defined: 1 pages initially, maximum none (clamped to --max-memory)',
    });
    expect(report['imports']).toContainEqual({
      module: 'env',
      name: 'host_add',
      kind: 'function',
      type: '(i32, i32) -> i32',
      status: 'needs a host function of this name and signature (--host-fns)',
      refused: false,
    });
    expect(report['exports']).toContainEqual({
      name: 'call_add',
      kind: 'function',
      type: '(i32, i32) -> i32',
    });
    const garbage = await cli(['inspect', 'garbage.wasm', '--json']);
    expect(garbage.code).toBe(EXIT_CODES.INVALID_MODULE);
    expect(JSON.parse(garbage.stdout)).toMatchObject({ ok: false, error: { code: 'INVALID_MODULE' } });
  });
});

describe('arguments', () => {
  const spec: CommandSpec = {
    name: 'try',
    positionals: ['one', 'two?'],
    options: { json: false, 'max-memory': true, seed: true },
  };

  it('parses options anywhere, sizes, numbers and --', () => {
    const args = parseArgs(['--json', 'x', '--max-memory', '2MiB', '--seed=5', '--', '--literal'], spec);
    expect(args.positionals).toEqual(['x', '--literal']);
    expect(sizeOption(args, 'max-memory')).toBe(2 * 1024 * 1024);
    expect(numberOption(args, 'seed', true)).toBe(5);
    expect(numberOption(args, 'absent')).toBeUndefined();
    expect(numberOption(parseArgs(['--seed', '0.5'], spec), 'seed')).toBe(0.5);
    expect(numberOption(parseArgs(['--seed', '-2e3'], spec), 'seed', true)).toBe(-2000);
    expect(sizeOption(parseArgs(['--max-memory', '64kib'], spec), 'max-memory')).toBe(65536);
    expect(parseArgs(['-h'], spec).options.get('help')).toBe(true);
  });

  it.each([
    [['--bogus'], 'unknown option --bogus for try (options: --json, --max-memory, --seed, --help)'],
    [['--max-memroy', '1'], 'unknown option --max-memroy for try; did you mean --max-memory?'],
    [['-x'], 'unknown option -x for try (options are spelt --name)'],
    [['a', 'b', 'c', 'd'], 'unexpected arguments "c" "d": usage: ri-sandbox try <one> [two]'],
    [['--json=yes'], '--json takes no value, got --json=yes'],
    [['--seed'], '--seed needs a value'],
    [['--seed='], '--seed needs a value'],
  ])('refuses %j, naming what is wrong', (argv, message) => {
    expect(() => parseArgs(argv, spec)).toThrow(new UsageError(message));
  });

  it.each([
    [['--seed', 'abc'], false, '--seed must be a number, got abc'],
    [['--seed', '1.5'], true, '--seed must be an integer, got 1.5'],
    [['--seed', '0x10'], false, '--seed must be a number, got 0x10'],
    [['--seed', '1e400'], false, '--seed must be a number, got 1e400'],
  ])('parses numbers one way: %j', (argv, integer, message) => {
    expect(() => numberOption(parseArgs(argv, spec), 'seed', integer)).toThrow(new UsageError(message));
  });
});

describe('the built binary', () => {
  const bin = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
  const run = promisify(execFile);
  const fixtures = fileURLToPath(new URL('../../../test-fixtures/', import.meta.url));
  // A limit no busy machine reaches, for the runs that are not about time.
  const generous = ['--timeout', String(GENEROUS_MS)];

  it('runs a WAT file as a new user would', async () => {
    const { stdout } = await run(process.execPath, [
      bin,
      'run',
      `${fixtures}wat/fibonacci.wat`,
      'fib',
      '10',
      ...generous,
    ]);
    expect(stdout).toMatch(/^result {2}55n\n/);
  });

  it('saves and restores state through files, and benchmarks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ri-sandbox-cli-'));
    const counter = `${fixtures}wat/counter.wat`;
    const state = join(dir, 'state.wsnp');
    const saved = await run(process.execPath, [
      bin,
      'run',
      counter,
      'add',
      '41',
      '--snapshot-out',
      state,
      ...generous,
    ]);
    expect(saved.stdout).toMatch(/bytes written to .*state\.wsnp\n$/);
    const resumed = await run(process.execPath, [
      bin,
      'run',
      counter,
      'increment',
      '--restore',
      state,
      ...generous,
    ]);
    expect(resumed.stdout).toMatch(/^result {2}42\n/);
    const bench = await run(process.execPath, [bin, 'bench', '--instances', '2', '--json']);
    const rows = JSON.parse(bench.stdout) as { operation: string; value: string }[];
    expect(rows.map((row) => row.operation)).toContain('execute(add), per call');
    expect(rows.at(-1)).toMatchObject({ operation: 'live instances in one process', value: '2' });
    expect(bench.stderr).toMatch(/^\[1\/6\] create\n/);
  }, 300_000);

  it('runs a WASI command with a real folder and piped input, and exits with its code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ri-sandbox-cli-wasi-'));
    mkdirSync(join(dir, 'host', 'nested'), { recursive: true });
    writeFileSync(join(dir, 'cmd.wasm'), WASI_COMMAND);
    writeFileSync(join(dir, 'host', 'in.txt'), 'from disk\n');
    writeFileSync(join(dir, 'host', 'nested', 'more.txt'), 'unused');
    const ran = spawnSync(
      process.execPath,
      [bin, 'run', join(dir, 'cmd.wasm'), 'arg', '--dir', `${join(dir, 'host')}::data`, ...generous],
      { input: 'piped in\n', encoding: 'utf8' },
    );
    expect({ status: ran.status, stdout: ran.stdout, stderr: ran.stderr }).toEqual({
      status: 2,
      stdout: `${join(dir, 'cmd.wasm')}\narg\npiped in\nfrom disk\n`,
      stderr: '',
    });
  });

  it('fails with one line and the documented exit code', async () => {
    const failure = await run(process.execPath, [
      bin,
      'run',
      `${fixtures}wat/infinite-loop.wat`,
      'run',
      '--max-gas',
      '500',
    ]).catch((error: unknown) => error as { code: number; stdout: string; stderr: string });
    expect(failure).toMatchObject({ code: EXIT_CODES.GAS_EXHAUSTED });
    expect((failure as { stderr: string }).stderr).toBe(
      'GAS_EXHAUSTED: gas exhausted: used 500 of 500 (raise maxGas or do less work per call)\n',
    );
    const missing = await run(process.execPath, [bin, 'run', 'no-such.wasm', 'f']).catch(
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(missing).toMatchObject({ code: EXIT_CODES.USAGE, stderr: 'error: no such file: no-such.wasm\n' });
    const badWat = await run(process.execPath, [bin, 'inspect', `${fixtures}c/json_abi.h`]).catch(
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect((badWat as { code: number }).code).toBe(EXIT_CODES.INVALID_MODULE);
  });
});
