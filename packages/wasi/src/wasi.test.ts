import { describe, expect, it } from 'vitest';
import { Harness } from '../test/harness';
import { ClockId, Errno, EventType, FileType, Layout, WASI_FUNCTIONS } from './abi';
import { Wasi, WasiExit, WasiRaise } from './index';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('the imports', () => {
  it('are every function of wasi_snapshot_preview1, with its signature', () => {
    const created = Wasi.create();
    if (!created.ok) throw new Error(created.error.message);
    expect(Object.keys(created.value.imports.wasi_snapshot_preview1).sort()).toEqual(
      Object.keys(WASI_FUNCTIONS).sort(),
    );
    expect(Object.keys(WASI_FUNCTIONS)).toHaveLength(46);
  });

  it('answer EFAULT, never an exception, for a pointer outside memory or before a memory is attached', () => {
    const created = Wasi.create();
    if (!created.ok) throw new Error(created.error.message);
    const wasi = created.value.imports.wasi_snapshot_preview1;
    expect((wasi['args_sizes_get'] as (a: number, b: number) => number)(0, 4)).toBe(Errno.fault);
    const h = new Harness();
    h.expect(Errno.fault, 'args_sizes_get', 2 * 65536 - 2, 0);
    h.expect(Errno.fault, 'fd_write', 1, 2 * 65536, 1, 0);
    expect(() => {
      created.value.attach(
        new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0))),
      );
    }).toThrow(/exports no memory/);
  });
});

describe('arguments, environment, clocks and randomness', () => {
  it('gives arguments and variables in UTF-8, sizes in bytes', () => {
    const h = new Harness({ args: ['prog', 'héllo'], env: { A: 'b', LANG: 'C' } });
    const counts = h.alloc(8);
    h.ok('args_sizes_get', counts, counts + 4);
    expect([h.u32(counts), h.u32(counts + 4)]).toEqual([2, 5 + 7]);
    const pointers = h.alloc(8);
    const buffer = h.alloc(12);
    h.ok('args_get', pointers, buffer);
    expect(h.text(h.u32(pointers + 4), 6)).toBe('héllo');
    h.ok('environ_sizes_get', counts, counts + 4);
    expect([h.u32(counts), h.u32(counts + 4)]).toEqual([2, 4 + 7]);
    h.ok('environ_get', pointers, buffer);
    expect(h.text(buffer, 10)).toBe('A=b\0LANG=C');
  });

  it('runs clocks on virtual time: a microsecond per read by default, the embedder’s elapsed time otherwise', () => {
    const h = new Harness({}, { startTimeMs: 1000 });
    const at = h.alloc(8);
    h.ok('clock_time_get', ClockId.monotonic, 0n, at);
    const first = h.u64(at);
    h.ok('clock_time_get', ClockId.realtime, 0n, at);
    expect(h.u64(at)).toBe(1_000_000_000n + first + 1000n);
    h.ok('clock_res_get', ClockId.processCputime, at);
    expect(h.u64(at)).toBe(1n);
    h.expect(Errno.inval, 'clock_time_get', 9, 0n, at);
    h.expect(Errno.inval, 'clock_res_get', 9, at);
    let elapsed = 0n;
    const tied = new Harness({}, { elapsedNs: () => elapsed });
    elapsed = 500n;
    tied.ok('clock_time_get', ClockId.threadCputime, 0n, at);
    expect(tied.u64(at)).toBe(500n);
    tied.wasi.settleClock();
    elapsed = 0n;
    tied.ok('clock_time_get', ClockId.monotonic, 0n, at);
    expect(tied.u64(at)).toBe(500n);
  });

  it('draws the same random bytes for the same seed, others for another', () => {
    const draw = (seed: number) => {
      const h = new Harness({}, { seed });
      const at = h.alloc(10);
      h.ok('random_get', at, 10);
      return h.bytes(at, 10);
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
  });

  it('sleeps in virtual time, at once, and finds descriptors ready', () => {
    const h = new Harness({ stdin: 'abc' });
    const subscriptions = h.alloc(3 * Layout.subscription.size);
    const events = h.alloc(3 * Layout.event.size);
    const count = h.alloc(4);
    const clock = (at: number, userdata: bigint, timeout: bigint, flags = 0) => {
      h.view.setBigUint64(at, userdata, true);
      h.view.setUint8(at + 8, EventType.clock);
      h.view.setUint32(at + 16, ClockId.monotonic, true);
      h.view.setBigUint64(at + 24, timeout, true);
      h.view.setUint16(at + 40, flags, true);
    };
    const now = h.alloc(8);
    h.ok('clock_time_get', ClockId.monotonic, 0n, now);
    clock(subscriptions, 1n, 5_000_000_000n);
    clock(subscriptions + 48, 2n, 2_000_000_000n);
    h.ok('poll_oneoff', subscriptions, events, 2, count);
    expect([h.u32(count), h.u64(events)]).toEqual([1, 2n]);
    h.ok('clock_time_get', ClockId.monotonic, 0n, now + 0);
    expect(h.u64(now)).toBeGreaterThanOrEqual(2_000_000_000n);
    // A descriptor is ready at once, with the bytes it has to read; a bad one says so in its event.
    h.view.setBigUint64(subscriptions + 96, 3n, true);
    h.view.setUint8(subscriptions + 96 + 8, EventType.fdRead);
    h.view.setUint32(subscriptions + 96 + 16, 0, true);
    h.view.setUint8(subscriptions + 48 + 8, EventType.fdWrite);
    h.view.setUint32(subscriptions + 48 + 16, 77, true);
    h.ok('poll_oneoff', subscriptions, events, 3, count);
    expect(h.u32(count)).toBe(2);
    expect([h.u16(events + 8), h.u16(events + 32 + 8), h.u64(events + 32 + 16)]).toEqual([Errno.badf, 0, 3n]);
    h.expect(Errno.inval, 'poll_oneoff', subscriptions, events, 0, count);
    h.view.setUint8(subscriptions + 8, 9);
    h.expect(Errno.inval, 'poll_oneoff', subscriptions, events, 1, count);
    clock(subscriptions, 4n, 0n);
    h.view.setUint32(subscriptions + 16, 9, true);
    h.ok('poll_oneoff', subscriptions, events, 1, count);
    expect(h.u16(events + 8)).toBe(Errno.inval);
  });

  it('ends the guest on proc_exit and proc_raise, by exception, and has no sockets', () => {
    const h = new Harness();
    expect(() => h.call('proc_exit', 7)).toThrow(new WasiExit(7));
    expect(() => h.call('proc_raise', 6)).toThrow(WasiRaise);
    h.ok('sched_yield');
    for (const name of ['sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown']) {
      h.expect(Errno.badf, name, 99, 0, 0, 0, 0, 0);
      h.expect(Errno.notsock, name, 1, 0, 0, 0, 0, 0);
    }
  });
});

describe('standard streams', () => {
  it('captures output per take, dropping what passes the limit and saying so', () => {
    const h = new Harness({ stdoutLimitBytes: 5, stderrLimitBytes: 100 });
    expect(h.write(1, 'hello, world')).toBe(12);
    expect(h.write(2, 'oops')).toBe(4);
    const first = h.wasi.takeOutput();
    expect([text(first.stdout), first.stdoutTruncated, text(first.stderr), first.stderrTruncated]).toEqual([
      'hello',
      true,
      'oops',
      false,
    ]);
    expect(h.wasi.takeOutput()).toMatchObject({ stdoutTruncated: false, stdout: new Uint8Array() });
  });

  it('reads standard input to its end, and refuses what a stream cannot do', () => {
    const h = new Harness({ stdin: 'abcdef' });
    expect([h.read(0, 4), h.read(0, 4), h.read(0, 4)]).toEqual(['abcd', 'ef', '']);
    const at = h.alloc(64);
    h.ok('fd_fdstat_get', 0, at);
    expect(h.view.getUint8(at)).toBe(FileType.characterDevice);
    h.ok('fd_filestat_get', 1, at);
    expect(h.view.getUint8(at + Layout.filestat.filetype)).toBe(FileType.characterDevice);
    h.expect(Errno.notcapable, 'fd_seek', 1, 0n, 0, at);
    h.expect(Errno.notcapable, 'fd_pread', 0, h.vector(at, 4), 1, 0n, at);
    h.expect(Errno.badf, 'fd_prestat_get', 1, at);
  });
});
