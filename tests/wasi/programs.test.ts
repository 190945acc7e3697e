/**
 * Real programs end to end: the C programs in `programs/`, compiled here with
 * Debian's clang-14 for wasm32-wasi (wasi-libc), run in the sandbox. Where
 * the answer does not depend on time or randomness, it must be what the same
 * program gives under node:wasi on the same arguments, environment, input and
 * files: output, exit code and the files it leaves.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type SandboxConfigInput, type WasiConfig, createWasmSandbox } from '@ri-sandbox/sandbox';
import { compilePrograms } from './compile';
import { runWithNodeWasi } from './node-wasi';

const programs: Record<string, Uint8Array<ArrayBuffer>> = {};
const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/** Runs `program` in a sandbox (WASI on, limits as given, far above need unless a test is about them). */
async function inSandbox(program: string, wasi: WasiConfig, limits: SandboxConfigInput = {}) {
  const sandbox = createWasmSandbox();
  const created = sandbox.create({
    maxGas: 1e10,
    maxExecutionMs: 60_000,
    deterministicSeed: 1,
    eventTimestamp: 1_700_000_000_000,
    wasi,
    ...limits,
  });
  if (!created.ok) throw new Error(created.error.message);
  const loaded = await sandbox.load(created.value, programs[program] as Uint8Array<ArrayBuffer>);
  if (!loaded.ok) throw new Error(loaded.error.message);
  const result = sandbox.execute(created.value, '_start');
  const files = sandbox.readFiles(created.value);
  return { result, stdout: text(result.output?.stdout), files: files.ok ? files.value : {} };
}

/** Runs `program` under node:wasi, with `wasi.files` in a real folder as its `/`. */
async function inNode(program: string, wasi: WasiConfig) {
  const run = await runWithNodeWasi(programs[program] as Uint8Array, {
    args: wasi.args ?? [],
    env: wasi.env,
    files: wasi.files ?? {},
    stdin: typeof wasi.stdin === 'string' ? wasi.stdin : undefined,
  });
  const files = Object.fromEntries(Object.entries(run.files).map(([path, bytes]) => [path, text(bytes)]));
  return { exitCode: run.exitCode, stdout: run.stdout, files };
}

describe('C programs (clang-14, wasm32-wasi)', () => {
  beforeAll(async () => {
    Object.assign(programs, await compilePrograms());
    expect(Object.keys(programs)).toContain('echo');
  }, 120_000);

  it('gives arguments, environment and input exactly as node:wasi does, UTF-8 included', async () => {
    const wasi = {
      args: ['echo', 'first', 'deuxième ü', ''],
      env: { LANG: 'C.UTF-8' },
      stdin: 'some input\nüber\n',
    };
    const ours = await inSandbox('echo', wasi);
    const node = await inNode('echo', wasi);
    expect(ours.result).toMatchObject({ ok: true, value: 4 });
    expect({ exitCode: ours.result.ok ? ours.result.value : undefined, stdout: ours.stdout }).toEqual({
      exitCode: node.exitCode,
      stdout: node.stdout,
    });
    expect(ours.stdout).toContain(
      'arg 2: deuxième ü\narg 3: \nLANG=C.UTF-8\nHOME=(unset)\nSOME INPUT\nüBER\n',
    );
  });

  it('makes, writes, reads, lists, renames and removes files as node:wasi does, and leaves the same tree', async () => {
    const wasi = {
      args: ['files'],
      files: { '/data/input.txt': 'a line of input\n', '/data/other.bin': new Uint8Array([1, 2, 3]) },
    };
    const ours = await inSandbox('files', wasi);
    const node = await inNode('files', wasi);
    expect(ours.result).toMatchObject({ ok: true, value: 0 });
    expect(ours.stdout).toBe(node.stdout);
    expect(ours.stdout).toMatch(
      /^read: a line of input\n.*\n\/: data work\n\/work\/a: moved.txt\n\/data: input.txt other.bin\ndone\n$/s,
    );
    const tree = Object.fromEntries(Object.entries(ours.files).map(([path, bytes]) => [path, text(bytes)]));
    expect(tree).toEqual(node.files);
  });

  it('sees time and randomness that are virtual and seeded: the same on every run, sleeps instant', async () => {
    const first = await inSandbox('clock_random', {});
    const second = await inSandbox('clock_random', {});
    expect(first.stdout).toBe(second.stdout);
    expect(first.stdout).toMatch(
      /^realtime: 1700000000\nloop: \d+ ns\nafter sleep: 25\d{7} ns later\nrandom:( [0-9a-f]{2}){8}\n$/,
    );
    const reseeded = await inSandbox('clock_random', {}, { deterministicSeed: 2 });
    expect(reseeded.stdout.split('random:')[1]).not.toBe(first.stdout.split('random:')[1]);
    expect(first.result.ok && first.result.gasUsed).toBeGreaterThan(100_000);
  });

  it('stops a runaway program by gas, and by time, keeping what it printed', async () => {
    const byGas = await inSandbox('runaway', {}, { maxGas: 5_000_000 });
    expect(byGas.result).toMatchObject({ ok: false, error: { code: 'GAS_EXHAUSTED' } });
    expect(byGas.stdout).toBe('started\n');
    const started = performance.now();
    const byTime = await inSandbox('runaway', {}, { maxGas: Number.MAX_SAFE_INTEGER, maxExecutionMs: 100 });
    expect(byTime.result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(byTime.stdout).toBe('started\n');
    // A bound only a missing preemption could break, far above what a busy machine adds.
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('keeps a flood of output to its limit, flags it, and stops it by gas', async () => {
    const flood = await inSandbox('flood', { stdoutLimitBytes: 10_000 }, { maxGas: 2_000_000 });
    expect(flood.result).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED' },
      output: { stdoutTruncated: true },
    });
    expect(flood.stdout).toHaveLength(10_000);
    expect(flood.stdout.replace(/[x\n]/g, '')).toBe('');
  });
});
