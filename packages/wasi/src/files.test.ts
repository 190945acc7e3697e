import { describe, expect, it } from 'vitest';
import { Harness } from '../test/harness';
import { Errno, FdFlags, FileType, FstFlags, Layout, LookupFlags, OFlags, Rights, Whence } from './abi';
import { Bytes, FileSystem } from './fs';

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

describe('the file system', () => {
  it('starts from the configured files, folders created on the way, and lists them back', () => {
    const h = new Harness({
      files: { '/data/in.txt': 'hello', '/data/deep/x.bin': Uint8Array.of(1, 2), '/top': '' },
    });
    expect(Object.keys(h.wasi.files())).toEqual(['/data/deep/x.bin', '/data/in.txt', '/top']);
    const fd = h.open('data/in.txt');
    expect(h.read(fd, 100)).toBe('hello');
    const stat = h.alloc(Layout.filestat.size);
    const [path, length] = h.put('data');
    h.ok('path_filestat_get', 3, 0, path, length, stat);
    expect(h.view.getUint8(stat + Layout.filestat.filetype)).toBe(FileType.directory);
  });

  it('creates, writes, appends, seeks, truncates and reads back', () => {
    const h = new Harness();
    const fd = h.open('notes.txt', { oflags: OFlags.creat });
    expect(h.write(fd, 'hello')).toBe(5);
    const at = h.alloc(8);
    h.ok('fd_seek', fd, 1n, Whence.set, at);
    expect(h.read(fd, 3)).toBe('ell');
    h.ok('fd_tell', fd, at);
    expect(h.u64(at)).toBe(4n);
    h.ok('fd_seek', fd, -2n, Whence.end, at);
    expect(h.u64(at)).toBe(3n);
    h.expect(Errno.inval, 'fd_seek', fd, -10n, Whence.cur, at);
    h.expect(Errno.inval, 'fd_seek', fd, 0n, 7, at);
    h.ok('fd_fdstat_set_flags', fd, FdFlags.append);
    h.write(fd, '!');
    const [buffer] = h.put(new Uint8Array(8));
    const readAt = h.alloc(4);
    h.ok('fd_pread', fd, h.vector(buffer, 8), 1, 0n, readAt);
    expect(h.text(buffer, h.u32(readAt))).toBe('hello!');
    h.ok('fd_pwrite', fd, h.vector(...h.put('J')), 1, 0n, readAt);
    h.ok('fd_filestat_set_size', fd, 3n);
    expect(text(h.wasi.files()['/notes.txt'])).toBe('Jel');
    h.ok('fd_allocate', fd, 0n, 10n);
    expect(h.wasi.files()['/notes.txt']?.length).toBe(10);
    h.ok('fd_advise', fd, 0n, 10n, 0);
    h.expect(Errno.inval, 'fd_advise', fd, 0n, 10n, 9);
    h.ok('fd_sync', fd);
    h.ok('fd_datasync', fd);
    h.ok('fd_close', fd);
    h.expect(Errno.badf, 'fd_close', fd);
  });

  it('refuses more than maxFileSystemBytes in all with ENOSPC, and frees what is unlinked', () => {
    const h = new Harness({ maxFileSystemBytes: 10 });
    const fd = h.open('a', { oflags: OFlags.creat });
    h.write(fd, '123456');
    const [data, length] = h.put('78901');
    const written = h.alloc(4);
    h.expect(Errno.nospc, 'fd_write', fd, h.vector(data, length), 1, written);
    h.expect(Errno.nospc, 'fd_filestat_set_size', fd, 11n);
    h.ok('fd_close', fd);
    const [path, pathLength] = h.put('a');
    h.ok('path_unlink_file', 3, path, pathLength);
    const again = h.open('b', { oflags: OFlags.creat });
    expect(h.write(again, '1234567890')).toBe(10);
  });

  it('lists folders with cookies, . and .. first, names in order, and a buffer too small cut mid-entry', () => {
    const h = new Harness({ files: { '/d/b': '1', '/d/a': '22', '/d/c': '' } });
    const dir = h.open('d', { oflags: OFlags.directory, rights: Rights.fdReaddir });
    const buffer = h.alloc(512);
    const used = h.alloc(4);
    h.ok('fd_readdir', dir, buffer, 512, 0n, used);
    const names: string[] = [];
    for (let at = 0; at < h.u32(used);) {
      const length = h.u32(buffer + at + Layout.dirent.namlen);
      names.push(h.text(buffer + at + Layout.dirent.size, length));
      at += Layout.dirent.size + length;
    }
    expect(names).toEqual(['.', '..', 'a', 'b', 'c']);
    h.ok('fd_readdir', dir, buffer, 512, 3n, used);
    expect(h.text(buffer + Layout.dirent.size, 1)).toBe('b');
    h.ok('fd_readdir', dir, buffer, 30, 0n, used);
    expect(h.u32(used)).toBe(30);
    h.expect(Errno.notdir, 'fd_readdir', h.open('d/a'), buffer, 512, 0n, used);
  });

  it('never leaves the directory it resolves from: .., absolute paths and symbolic links', () => {
    const h = new Harness({ files: { '/in/secret': 's' } });
    const inner = h.open('in', { oflags: OFlags.directory, rights: Rights.pathOpen });
    const fdAt = h.alloc(4);
    const attempt = (dir: number, path: string, lookup: number = LookupFlags.symlinkFollow) => {
      const [pointer, length] = h.put(path);
      return h.call('path_open', dir, lookup, pointer, length, 0, Rights.fdRead, 0n, 0, fdAt);
    };
    expect([attempt(inner, '../in/secret'), attempt(3, '/in/secret'), attempt(3, 'in/../../x')]).toEqual([
      Errno.notcapable,
      Errno.notcapable,
      Errno.notcapable,
    ]);
    expect(attempt(3, 'in/./secret')).toBe(Errno.success);
    const link = (target: string, name: string) => {
      const [from, fromLength] = h.put(target);
      const [to, toLength] = h.put(name);
      return h.call('path_symlink', from, fromLength, 3, to, toLength);
    };
    expect(link('/etc/passwd', 'abs')).toBe(Errno.notcapable);
    expect(link('..', 'up')).toBe(Errno.success);
    expect(attempt(3, 'up/in/secret')).toBe(Errno.notcapable);
    expect(link('loop2', 'loop1')).toBe(Errno.success);
    expect(link('loop1', 'loop2')).toBe(Errno.success);
    expect(attempt(3, 'loop1')).toBe(Errno.loop);
    expect(attempt(3, 'loop1', 0)).toBe(Errno.loop);
    expect(link('in/secret', 'good')).toBe(Errno.success);
    expect(attempt(3, 'good')).toBe(Errno.success);
    const buffer = h.alloc(32);
    const used = h.alloc(4);
    const [name, nameLength] = h.put('good');
    h.ok('path_readlink', 3, name, nameLength, buffer, 32, used);
    expect(h.text(buffer, h.u32(used))).toBe('in/secret');
    const [plain, plainLength] = h.put('in');
    h.expect(Errno.inval, 'path_readlink', 3, plain, plainLength, buffer, 32, used);
    expect(attempt(3, '')).toBe(Errno.noent);
    expect(attempt(3, 'x'.repeat(5000))).toBe(Errno.nametoolong);
  });

  it('makes and removes folders, links, renames and unlinks as POSIX does', () => {
    const h = new Harness({ files: { '/f': 'data', '/full/x': '' } });
    const call = (name: string, ...paths: string[]) => {
      const args = paths.flatMap((p) => h.put(p));
      if (name === 'path_rename') return h.call(name, 3, args[0]!, args[1]!, 3, args[2]!, args[3]!);
      if (name === 'path_link') return h.call(name, 3, 0, args[0]!, args[1]!, 3, args[2]!, args[3]!);
      return h.call(name, 3, ...args);
    };
    expect(call('path_create_directory', 'new')).toBe(Errno.success);
    expect(call('path_create_directory', 'new')).toBe(Errno.exist);
    expect(call('path_create_directory', 'missing/new')).toBe(Errno.noent);
    expect(call('path_link', 'f', 'g')).toBe(Errno.success);
    expect(call('path_link', 'new', 'h')).toBe(Errno.perm);
    const stat = h.alloc(Layout.filestat.size);
    const [g, gLength] = h.put('g');
    h.ok('path_filestat_get', 3, 0, g, gLength, stat);
    expect(h.u64(stat + Layout.filestat.nlink)).toBe(2n);
    expect(call('path_rename', 'new', 'new/inside')).toBe(Errno.inval);
    expect(call('path_rename', 'f', 'full')).toBe(Errno.isdir);
    expect(call('path_rename', 'new', 'f')).toBe(Errno.notdir);
    expect(call('path_rename', 'new', 'full')).toBe(Errno.notempty);
    expect(call('path_rename', 'f', 'g')).toBe(Errno.success);
    expect(call('path_rename', 'g', 'moved')).toBe(Errno.success);
    expect(call('path_unlink_file', 'full')).toBe(Errno.isdir);
    expect(call('path_unlink_file', 'moved/')).toBe(Errno.notdir);
    expect(call('path_remove_directory', 'full')).toBe(Errno.notempty);
    expect(call('path_remove_directory', 'moved')).toBe(Errno.notdir);
    expect(call('path_remove_directory', '.')).toBe(Errno.inval);
    expect(call('path_remove_directory', 'new')).toBe(Errno.success);
    expect(call('path_unlink_file', 'moved')).toBe(Errno.success);
    // Renaming a name onto another link of the same file does nothing (POSIX): f stayed.
    expect(Object.keys(h.wasi.files())).toEqual(['/f', '/full/x']);
  });

  it('keeps rights: only ever fewer, and what a descriptor opens inherits at most its own', () => {
    const h = new Harness({ files: { '/f': 'data' } });
    const readOnly = h.open('f', { rights: Rights.fdRead });
    const at = h.alloc(24);
    h.ok('fd_fdstat_get', readOnly, at);
    expect(h.u64(at + Layout.fdstat.rightsBase)).toBe(Rights.fdRead);
    const [data, length] = h.put('x');
    h.expect(Errno.notcapable, 'fd_write', readOnly, h.vector(data, length), 1, at);
    h.expect(Errno.notcapable, 'fd_fdstat_set_rights', readOnly, Rights.fdRead | Rights.fdWrite, 0n);
    h.ok('fd_fdstat_set_rights', readOnly, 0n, 0n);
    h.expect(Errno.notcapable, 'fd_read', readOnly, h.vector(data, 1), 1, at);
    const dir = h.open('.', { oflags: OFlags.directory, rights: Rights.pathOpen });
    const [f, fLength] = h.put('f');
    h.expect(Errno.isdir, 'path_open', 3, 0, h.put('.')[0], 1, 0, Rights.fdWrite, 0n, 0, at);
    h.expect(Errno.notdir, 'path_open', 3, 0, f, fLength, OFlags.directory, 0n, 0n, 0, at);
    h.expect(Errno.exist, 'path_open', 3, 0, f, fLength, OFlags.creat | OFlags.excl, 0n, 0n, 0, at);
    h.expect(Errno.noent, 'path_open', 3, 0, ...h.put('none'), 0, 0n, 0n, 0, at);
    h.expect(Errno.notcapable, 'path_create_directory', dir, ...h.put('sub'));
    h.expect(Errno.notdir, 'path_create_directory', readOnly, ...h.put('sub'));
    h.expect(Errno.badf, 'path_create_directory', 1, ...h.put('sub'));
  });

  it('sets times, as given or to now, and refuses both at once', () => {
    const h = new Harness({ files: { '/f': '' } });
    const fd = h.open('f');
    const stat = h.alloc(Layout.filestat.size);
    h.ok('fd_filestat_set_times', fd, 5n, 6n, FstFlags.atim | FstFlags.mtim);
    h.ok('fd_filestat_get', fd, stat);
    expect([h.u64(stat + Layout.filestat.atim), h.u64(stat + Layout.filestat.mtim)]).toEqual([5n, 6n]);
    h.expect(Errno.inval, 'fd_filestat_set_times', fd, 5n, 6n, FstFlags.atim | FstFlags.atimNow);
    h.expect(Errno.inval, 'fd_filestat_set_times', fd, 5n, 6n, 64);
    const [f, fLength] = h.put('f');
    h.ok('path_filestat_set_times', 3, 0, f, fLength, 0n, 0n, FstFlags.atimNow | FstFlags.mtimNow);
    h.expect(Errno.notcapable, 'fd_filestat_set_times', 1, 0n, 0n, 0);
  });

  it('renumbers descriptors, and gives the lowest free number', () => {
    const h = new Harness({ files: { '/a': 'A', '/b': 'B' } });
    const a = h.open('a');
    const b = h.open('b');
    expect([a, b]).toEqual([4, 5]);
    h.ok('fd_renumber', b, a);
    expect(h.read(a, 1)).toBe('B');
    h.expect(Errno.badf, 'fd_renumber', b, a);
    expect(h.open('a')).toBe(5);
    const name = h.alloc(8);
    h.ok('fd_prestat_get', 3, name);
    expect(h.u32(name + 4)).toBe(1);
    h.ok('fd_prestat_dir_name', 3, name, 1);
    expect(h.text(name, 1)).toBe('/');
    h.expect(Errno.nametoolong, 'fd_prestat_dir_name', 3, name, 0);
  });

  it('replaces the whole tree for the host, and refuses a bad one', () => {
    const h = new Harness({ files: { '/old': 'x' } });
    expect(h.wasi.replaceFiles({ '/new/file': 'y' })).toEqual({ ok: true, value: undefined });
    expect(Object.keys(h.wasi.files())).toEqual(['/new/file']);
    expect(h.wasi.replaceFiles({ relative: 'z' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_CONFIG' },
    });
  });
});

describe('Bytes', () => {
  it('grows geometrically, zero-fills gaps and resizes', () => {
    const bytes = new Bytes();
    bytes.write(3, Uint8Array.of(1));
    expect([...bytes.view()]).toEqual([0, 0, 0, 1]);
    bytes.resize(2);
    bytes.resize(5);
    expect([...bytes.view()]).toEqual([0, 0, 0, 0, 0]);
    expect([...bytes.read(10, 4)]).toEqual([]);
  });
});

describe('FileSystem', () => {
  it('counts inodes per instance, from 1', () => {
    const a = new FileSystem(100, () => 0n);
    const b = new FileSystem(100, () => 0n);
    expect([a.root.ino, a.file().ino, b.root.ino]).toEqual([1n, 2n, 1n]);
    expect(FileSystem.contains(a.root, a.directory(a.root))).toBe(true);
  });
});
