import { describe, expect, it } from 'vitest';
import { Harness } from '../test/harness';
import { ClockId, EventType, Layout, OFlags, Rights } from './abi';

/** A harness whose guest has done a bit of everything: files, links, descriptors, input, randomness, sleep. */
function busy(): { h: Harness; file: number; restricted: number } {
  const h = new Harness(
    {
      args: ['prog'],
      env: { A: 'b' },
      files: { '/data/in.txt': 'hello, world' },
      stdin: 'line one\nline two\n',
    },
    { seed: 5, startTimeMs: 1_700_000_000_000 },
  );
  const file = h.open('data/in.txt');
  h.read(file, 7);
  h.read(0, 5);
  const out = h.open('data/out.txt', { oflags: OFlags.creat });
  h.write(out, 'written');
  const paths = (...names: string[]) => names.flatMap((name) => h.put(name));
  h.ok('path_create_directory', 3, ...paths('made'));
  const [source, sourceLength, target, targetLength] = paths('data/out.txt', 'made/link');
  h.ok('path_link', 3, 0, source!, sourceLength!, 3, target!, targetLength!);
  const [linkTarget, linkTargetLength, linkName, linkNameLength] = paths('../data/in.txt', 'made/sym');
  h.ok('path_symlink', linkTarget!, linkTargetLength!, 3, linkName!, linkNameLength!);
  const restricted = h.open('data/in.txt', { rights: Rights.fdRead | Rights.fdSeek });
  const random = h.alloc(8);
  h.ok('random_get', random, 8);
  const subscription = h.alloc(Layout.subscription.size);
  h.view.setUint8(subscription + 8, EventType.clock);
  h.view.setUint32(subscription + 16, ClockId.monotonic, true);
  h.view.setBigUint64(subscription + 24, 3_000_000_000n, true);
  h.ok('poll_oneoff', subscription, h.alloc(Layout.event.size), 1, h.alloc(4));
  return { h, file, restricted };
}

describe('saving and restoring', () => {
  it('brings back files, links, descriptors, input, the clock and the generator exactly', () => {
    const { h, file, restricted } = busy();
    const saved = h.wasi.save();
    expect(busy().h.wasi.save()).toEqual(saved);
    const copy = new Harness({ files: { '/other': 'x' } }, { seed: 99 });
    expect(copy.wasi.restore(saved)).toEqual({ ok: true, value: undefined });
    expect(copy.wasi.save()).toEqual(saved);
    expect(Object.keys(copy.wasi.files())).toEqual(['/data/in.txt', '/data/out.txt', '/made/link']);
    // The descriptor's offset, and standard input's, continue where they were.
    expect([copy.read(file, 100), h.read(file, 100)]).toEqual(['world', 'world']);
    expect(copy.read(0, 100)).toBe('one\nline two\n');
    const random = [copy.alloc(8), h.alloc(8)] as const;
    copy.ok('random_get', random[0], 8);
    h.ok('random_get', random[1], 8);
    expect(copy.bytes(random[0], 8)).toEqual(h.bytes(random[1], 8));
    const now = [copy.alloc(8), h.alloc(8)] as const;
    copy.ok('clock_time_get', ClockId.realtime, 0n, now[0]);
    h.ok('clock_time_get', ClockId.realtime, 0n, now[1]);
    expect(copy.u64(now[0])).toBe(h.u64(now[1]));
    expect(copy.u64(now[0])).toBeGreaterThan(1_700_000_003_000_000_000n);
    // Rights, hard links and symbolic links.
    const stat = copy.alloc(Layout.fdstat.size);
    copy.ok('fd_fdstat_get', restricted, stat);
    expect(copy.u64(stat + Layout.fdstat.rightsBase)).toBe(Rights.fdRead | Rights.fdSeek);
    const [name, nameLength] = copy.put('made/link');
    const filestat = copy.alloc(Layout.filestat.size);
    copy.ok('path_filestat_get', 3, 0, name, nameLength, filestat);
    expect(copy.u64(filestat + Layout.filestat.nlink)).toBe(2n);
    const [sym, symLength] = copy.put('made/sym');
    const buffer = copy.alloc(32);
    const used = copy.alloc(4);
    copy.ok('path_readlink', 3, sym, symLength, buffer, 32, used);
    expect(copy.text(buffer, copy.u32(used))).toBe('../data/in.txt');
    const arg = copy.alloc(8);
    copy.ok('args_sizes_get', arg, arg + 4);
    expect(copy.u32(arg)).toBe(1);
  });

  it('refuses bytes that are not a saved state, changing nothing, and never throws', () => {
    const { h } = busy();
    const saved = h.wasi.save();
    const target = new Harness({ files: { '/kept': 'yes' } });
    const before = target.wasi.save();
    const bad = [
      new Uint8Array(),
      Uint8Array.of(9),
      saved.subarray(0, saved.length - 1),
      Uint8Array.of(...saved, 0),
    ];
    for (let at = 1; at < saved.length; at += 97) bad.push(saved.subarray(0, at));
    for (const bytes of bad) {
      const result = target.wasi.restore(bytes);
      expect(result).toMatchObject({ ok: false, error: { code: 'SNAPSHOT_ERROR' } });
    }
    expect(target.wasi.restore(Uint8Array.of(2))).toMatchObject({
      error: { reason: 'the WASI state cannot be read: WASI state version 2 is not supported' },
    });
    expect(target.wasi.save()).toEqual(before);
  });
});
