import { describe, expect, it } from 'vitest';
import { type SandboxConfigInput, defineHostFunction } from '@ri-sandbox/core';
import { crc32c, sealSnapshot } from '@ri-sandbox/snapshot';
import { wat } from '../../core/test/wat';
import { errorOf, testSandbox, valueOf } from '../test/helpers';

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/**
 * A WASI guest: `_start` prints "hi" and exits with 7; `flood` writes 1 KiB to stdout forever; `spin`
 * prints and loops; `clock` prints the monotonic nanoseconds two reads apart; `save` writes
 * out.txt with the contents of in.txt; `raise` raises a signal.
 */
const GUEST = wat(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "proc_raise" (func $raise (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hi")
  (data (i32.const 200) "in.txt")
  (data (i32.const 210) "out.txt")
  (func $print (param $at i32) (param $length i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $length))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") (call $print (i32.const 100) (i32.const 2)) (call $exit (i32.const 7)))
  (func (export "flood") (loop $again (call $print (i32.const 1024) (i32.const 1024)) (br $again)))
  (func (export "spin") (call $print (i32.const 100) (i32.const 2)) (loop $again (br $again)))
  (func (export "clock") (result i64)
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 16)))
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 24)))
    (i64.sub (i64.load (i32.const 24)) (i64.load (i32.const 16))))
  (func (export "save") (result i32)
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 6) (i32.const 0)
      (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 32)))
    (i32.store (i32.const 0) (i32.const 4096))
    (i32.store (i32.const 4) (i32.const 4096))
    (drop (call $read (i32.load (i32.const 32)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 210) (i32.const 7) (i32.const 1)
      (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 36)))
    (drop (call $write (i32.load (i32.const 36)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.load (i32.const 8)))
  (func (export "raise") (drop (call $raise (i32.const 6)))))`);

async function wasiInstance(config: SandboxConfigInput = {}, sandbox = testSandbox()) {
  const created = sandbox.create({ maxGas: 1e9, wasi: { files: { '/in.txt': 'from a file' } }, ...config });
  if (!created.ok) throw new Error(created.error.message);
  const loaded = await sandbox.load(created.value, GUEST);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return { sandbox, instance: created.value };
}

describe('WASI in the sandbox', () => {
  it('runs a command: its exit code is the value, what it wrote is the output', async () => {
    const { sandbox, instance } = await wasiInstance();
    const result = sandbox.execute(instance, '_start');
    expect(result).toMatchObject({
      ok: true,
      value: 7,
      output: { stdoutTruncated: false, stderrTruncated: false },
    });
    expect(text(result.output?.stdout)).toBe('hi');
    // Each execution has its own output.
    expect(text(sandbox.execute(instance, 'clock').output?.stdout)).toBe('');
  });

  it('reads and writes the virtual files, which the host can read and replace', async () => {
    const { sandbox, instance } = await wasiInstance();
    expect(valueOf(sandbox.execute(instance, 'save'))).toBe(11);
    const files = sandbox.readFiles(instance);
    expect(files.ok && text(files.value['/out.txt'])).toBe('from a file');
    expect(sandbox.writeFiles(instance, { '/in.txt': 'replaced' })).toEqual({ ok: true, value: undefined });
    expect(valueOf(sandbox.execute(instance, 'save'))).toBe(8);
    expect(Object.keys((sandbox.readFiles(instance) as { value: object }).value)).toEqual([
      '/in.txt',
      '/out.txt',
    ]);
    expect(errorOf(sandbox.writeFiles(instance, { 'relative.txt': 'x' }))).toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'files.relative.txt',
    });
    // Files that throw when read: refused, and the files there stay.
    const unreadable = Object.defineProperty({}, '/in.txt', {
      enumerable: true,
      get: (): never => {
        throw new Error('not now');
      },
    });
    expect(errorOf(sandbox.writeFiles(instance, unreadable))).toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'files',
      reason: 'reading it threw: not now',
    });
    expect(Object.keys((sandbox.readFiles(instance) as { value: object }).value)).toEqual([
      '/in.txt',
      '/out.txt',
    ]);
  });

  it('charges gas per call and per byte, so a flood of output ends with GAS_EXHAUSTED, keeping what fit', async () => {
    const { sandbox, instance } = await wasiInstance({ maxGas: 100_000, wasi: { stdoutLimitBytes: 3000 } });
    const result = sandbox.execute(instance, 'flood');
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'GAS_EXHAUSTED' },
      output: { stdoutTruncated: true },
    });
    expect(result.output?.stdout.length).toBe(3000);
    // 50 per call and 16 per KiB, plus the loop's own instructions.
    const calls = Math.floor(100_000 / (50 + 16 + 10));
    expect(result.output?.stdout.length).toBeLessThan(calls * 1024);
  });

  it('stops a runaway loop by time too, with the output written before', async () => {
    let clock = 0;
    const sandbox = testSandbox({ now: () => (clock += 5) });
    const { instance } = await wasiInstance(
      { maxGas: Number.MAX_SAFE_INTEGER, maxExecutionMs: 1000 },
      sandbox,
    );
    const result = sandbox.execute(instance, 'spin');
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(text(result.output?.stdout)).toBe('hi');
  });

  it('runs clocks on gas: the same reads give the same time, in every run', async () => {
    const first = await wasiInstance();
    const second = await wasiInstance();
    const a = valueOf(first.sandbox.execute(first.instance, 'clock'));
    expect(a).toBe(valueOf(second.sandbox.execute(second.instance, 'clock')));
    // Both reads are in one straight-line block, charged before it ran: between them, only the first
    // call's own charge (wasiCall, 50) passed.
    expect(a).toBe(50n);
  });

  it('keeps the files in snapshots, and a suspended instance keeps them through resume', async () => {
    const { sandbox, instance } = await wasiInstance();
    valueOf(sandbox.execute(instance, 'save'));
    const saved = sandbox.snapshot(instance);
    if (!saved.ok) throw new Error(saved.error.message);
    sandbox.writeFiles(instance, {});
    expect(sandbox.restore(instance, saved.value)).toEqual({ ok: true, value: undefined });
    expect(Object.keys((sandbox.readFiles(instance) as { value: object }).value)).toEqual([
      '/in.txt',
      '/out.txt',
    ]);
    expect(sandbox.suspend(instance).ok).toBe(true);
    expect(errorOf(sandbox.readFiles(instance))).toMatchObject({
      code: 'INVALID_STATE',
      status: 'suspended',
    });
    expect(sandbox.resume(instance).ok).toBe(true);
    expect(
      text((sandbox.readFiles(instance) as { value: Record<string, Uint8Array> }).value['/out.txt']),
    ).toBe('from a file');
    // Another instance of the same module, with WASI, takes it; one without WASI does not.
    const other = await wasiInstance({}, sandbox);
    expect(sandbox.restore(other.instance, saved.value).ok).toBe(true);
    const plain = sandbox.create({ maxGas: 1e9 });
    if (!plain.ok) throw new Error(plain.error.message);
    expect(errorOf(await sandbox.load(plain.value, GUEST)).message).toMatch(
      /wasi_snapshot_preview1.fd_write/,
    );
  });

  it('refuses a snapshot whose WASI state is damaged, changing nothing', async () => {
    const { sandbox, instance } = await wasiInstance();
    valueOf(sandbox.execute(instance, 'save'));
    const saved = sandbox.snapshot(instance);
    if (!saved.ok) throw new Error(saved.error.message);
    // The WASI extension is the last section: its name, then the state, whose first byte is its version.
    const damaged = saved.value.slice();
    const name = new TextEncoder().encode('wasi');
    let at = damaged.length - 8;
    while (!name.every((b, j) => damaged[at + j] === b)) at--;
    damaged[at + name.length] = 9;
    sealSnapshot(damaged);
    const before = sandbox.readFiles(instance);
    expect(errorOf(sandbox.restore(instance, damaged))).toMatchObject({
      code: 'SNAPSHOT_ERROR',
      message: expect.stringMatching(/WASI state version 9 is not supported/) as unknown,
    });
    expect(sandbox.readFiles(instance)).toEqual(before);
  });

  it('makes proc_raise a trap, and says WASI is needed when it is missing', async () => {
    const { sandbox, instance } = await wasiInstance();
    expect(errorOf(sandbox.execute(instance, 'raise'))).toMatchObject({
      code: 'WASM_TRAP',
      trapKind: 'unreachable',
      message: 'the guest raised signal 6 (proc_raise)',
    });
    const plain = sandbox.create();
    if (!plain.ok) throw new Error(plain.error.message);
    expect(errorOf(sandbox.readFiles(plain.value))).toMatchObject({
      code: 'INVALID_STATE',
      status: 'created',
    });
    await sandbox.load(plain.value, wat('(module (func (export "f")))'));
    expect(errorOf(sandbox.writeFiles(plain.value, {})).message).toMatch(
      /it has no WASI \(create it with config.wasi\)/,
    );
  });

  it('runs a reactor’s _initialize at load, metered, with what it wrote in the load’s output', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create({ wasi: {} });
    if (!created.ok) throw new Error(created.error.message);
    const reactor = wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "ready")
      (global $ready (mut i32) (i32.const 0))
      (func (export "_initialize")
        (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 5))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (global.set $ready (i32.const 1)))
      (func (export "ready") (result i32) (global.get $ready))
      (func (export "quit") (call $exit (i32.const 0))))`);
    const loaded = await sandbox.load(created.value, reactor);
    expect(loaded.ok && text(loaded.value.output?.stdout)).toBe('ready');
    expect(valueOf(sandbox.execute(created.value, 'ready'))).toBe(1);
    expect(valueOf(sandbox.execute(created.value, 'quit'))).toBe(0);
    const failing = wat(`(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_initialize") (call $exit (i32.const 3))))`);
    expect(errorOf(await sandbox.load(created.value, failing)).message).toBe(
      'the _initialize exited with code 3',
    );
  });
});

describe('host functions in other import modules', () => {
  it('are imported from the module they name; anything undeclared is still refused, named', async () => {
    const sandbox = testSandbox();
    const twice = defineHostFunction({
      module: 'rb-js-abi-host',
      name: 'twice',
      params: ['i32'],
      results: ['i32'],
      handler: (x) => 2 * x,
    });
    const created = sandbox.create({ hostFunctions: { 'rb-js-abi-host.twice': twice } });
    if (!created.ok) throw new Error(created.error.message);
    const guest = (module: string) =>
      wat(`(module (import "${module}" "twice" (func $t (param i32) (result i32)))
        (func (export "run") (param i32) (result i32) (call $t (local.get 0))))`);
    expect((await sandbox.load(created.value, guest('rb-js-abi-host'))).ok).toBe(true);
    expect(valueOf(sandbox.execute(created.value, 'run', 21))).toBe(42);
    expect(errorOf(await sandbox.load(created.value, guest('canonical_abi'))).message).toMatch(
      /the module imports canonical_abi.twice \(function \(i32\) -> i32\), which is not provided; provided: env.memory \(memory\), rb-js-abi-host.twice/,
    );
  });
});

describe('version 1 snapshots', () => {
  it('still restore', async () => {
    const sandbox = testSandbox();
    const created = sandbox.create();
    if (!created.ok) throw new Error(created.error.message);
    await sandbox.load(
      created.value,
      wat(
        '(module (global $g (mut i32) (i32.const 0)) (func (export "inc") (result i32) (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g)))',
      ),
    );
    valueOf(sandbox.execute(created.value, 'inc'));
    const saved = sandbox.snapshot(created.value);
    if (!saved.ok) throw new Error(saved.error.message);
    // Version 1: no extensions, and a four-byte checksum (CRC-32C) where version 4 has eight.
    const v1 = saved.value.slice(0, saved.value.length - 4);
    const view = new DataView(v1.buffer);
    view.setUint16(4, 1, true);
    view.setUint32(8, v1.length, true);
    sealSnapshot(v1);
    expect(view.getUint32(v1.length - 4, true)).toBe(crc32c(v1.subarray(0, v1.length - 4)));
    valueOf(sandbox.execute(created.value, 'inc'));
    expect(sandbox.restore(created.value, v1).ok).toBe(true);
    expect(valueOf(sandbox.execute(created.value, 'inc'))).toBe(2);
  });
});
