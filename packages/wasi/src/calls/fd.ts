/**
 * The calls on descriptors: reading, writing, seeking, listing a directory,
 * status and flags, rights, closing and renumbering.
 */
import {
  DIRCOOKIE_START,
  Errno,
  FdFlags,
  FileType,
  FstFlags,
  LAST_ADVICE,
  Layout,
  Rights,
  Whence,
} from '../abi';
import type { Descriptor, DirectoryDescriptor, FileDescriptor } from '../descriptors';
import type { DirectoryNode, FileSystem, Node } from '../fs';
import type { GuestMemory, IoVector } from '../guest';
import { type WasiState, fail, fileType } from '../state';
import { utf8 } from '../text';
import type { Calls } from './types';

/** The largest file offset or size: JavaScript numbers stay exact below 2^53. */
const MAX_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

/** An unsigned 64-bit size or offset as a number; `code` past 2^53 - 1. */
export function offsetOf(value: bigint, code: Errno = Errno.inval): number {
  const unsigned = BigInt.asUintN(64, value);
  if (unsigned > MAX_OFFSET) return fail(code);
  return Number(unsigned);
}

/** The file behind `descriptor`: `ISDIR` for a directory, `SPIPE` for a stream. */
function fileOf(descriptor: Descriptor): FileDescriptor {
  if (descriptor.kind === 'file') return descriptor;
  return fail(descriptor.kind === 'directory' ? Errno.isdir : Errno.spipe);
}

/** Reads into the guest's vectors from `read(offset, length)`, returning the bytes read. */
function gather(
  memory: GuestMemory,
  vectors: readonly IoVector[],
  read: (length: number) => Uint8Array,
): number {
  let total = 0;
  for (const vector of vectors) {
    const chunk = read(vector.length);
    memory.write(vector.pointer, chunk);
    total += chunk.length;
    if (chunk.length < vector.length) break;
  }
  return total;
}

/** The guest's vectors as one buffer. */
function scatter(memory: GuestMemory, vectors: readonly IoVector[]): Uint8Array {
  const total = vectors.reduce((sum, v) => sum + v.length, 0);
  if (vectors.length === 1) return memory.read((vectors[0] as IoVector).pointer, total).slice();
  const data = new Uint8Array(total);
  let at = 0;
  for (const vector of vectors) {
    data.set(memory.read(vector.pointer, vector.length), at);
    at += vector.length;
  }
  return data;
}

/** Sets times by `fstflags`; `INVAL` for a time both given and "now". */
export function setTimes(
  fs: FileSystem,
  node: Node,
  atim: bigint,
  mtim: bigint,
  flags: number,
  now: bigint,
): void {
  if (flags & ~(FstFlags.atim | FstFlags.atimNow | FstFlags.mtim | FstFlags.mtimNow)) fail(Errno.inval);
  if (
    (flags & FstFlags.atim && flags & FstFlags.atimNow) ||
    (flags & FstFlags.mtim && flags & FstFlags.mtimNow)
  )
    fail(Errno.inval);
  if (flags & FstFlags.atim) node.times.atim = atim;
  if (flags & FstFlags.atimNow) node.times.atim = now;
  if (flags & FstFlags.mtim) node.times.mtim = mtim;
  if (flags & FstFlags.mtimNow) node.times.mtim = now;
  fs.touch(node, false);
}

/** The entries of a directory listing, in order: `.`, `..`, then the names sorted (the same on every run). */
function listing(directory: DirectoryNode): [name: Uint8Array, node: Node][] {
  const names = [...directory.entries.keys()].sort();
  return [
    [utf8('.'), directory],
    [utf8('..'), directory.parent],
    ...names.map((name): [Uint8Array, Node] => [utf8(name), directory.entries.get(name) as Node]),
  ];
}

/** The descriptor calls, over `state` and the guest's memory. */
export function descriptorCalls(state: WasiState, memory: () => GuestMemory): Calls {
  const write = (descriptor: Descriptor, data: Uint8Array, at: number | undefined): number => {
    if (descriptor.kind === 'stdout' || descriptor.kind === 'stderr') {
      (descriptor.kind === 'stdout' ? state.stdout : state.stderr).write(data);
      return data.length;
    }
    const file = fileOf(descriptor);
    const append = at === undefined && (file.flags & FdFlags.append) !== 0;
    const offset = at ?? (append ? file.node.data.length : file.offset);
    const errno = state.fs.write(file.node, offset, data);
    if (errno !== Errno.success) fail(errno);
    if (at === undefined) file.offset = offset + data.length;
    return data.length;
  };

  const read = (descriptor: Descriptor, vectors: readonly IoVector[], at: number | undefined): number => {
    const guest = memory();
    if (descriptor.kind === 'stdin') return gather(guest, vectors, (length) => state.stdin.read(length));
    const file = fileOf(descriptor);
    let offset = at ?? file.offset;
    const total = gather(guest, vectors, (length) => {
      const chunk = file.node.data.read(offset, length);
      offset += chunk.length;
      return chunk;
    });
    if (at === undefined) file.offset = offset;
    file.node.times.atim = state.clock.realtime();
    return total;
  };

  return {
    fd_advise: (fd: number, offset: bigint, length: bigint, advice: number) => {
      const descriptor = state.descriptor(fd, Rights.fdAdvise);
      if (advice < 0 || advice > LAST_ADVICE) fail(Errno.inval);
      if (BigInt.asUintN(64, offset) + BigInt.asUintN(64, length) > 2n ** 64n - 1n) fail(Errno.inval);
      fileOf(descriptor);
    },
    fd_allocate: (fd: number, offset: bigint, length: bigint) => {
      const file = fileOf(state.descriptor(fd, Rights.fdAllocate));
      const end = offsetOf(offset, Errno.fbig) + offsetOf(length, Errno.fbig);
      if (!Number.isSafeInteger(end)) fail(Errno.fbig);
      if (end > file.node.data.length) {
        const errno = state.fs.resize(file.node, end);
        if (errno !== Errno.success) fail(errno);
      }
    },
    fd_close: (fd: number) => {
      if (!state.descriptors.delete(fd)) fail(Errno.badf);
    },
    fd_datasync: (fd: number) => {
      state.descriptor(fd, Rights.fdDatasync);
    },
    fd_sync: (fd: number) => {
      state.descriptor(fd, Rights.fdSync);
    },
    fd_fdstat_get: (fd: number, pointer: number) => {
      const descriptor = state.descriptor(fd);
      const guest = memory();
      const layout = Layout.fdstat;
      guest.fill(pointer, layout.size, (view) => view.fill(0));
      const type =
        descriptor.kind === 'file' || descriptor.kind === 'directory'
          ? fileType(descriptor.node)
          : FileType.characterDevice;
      guest.setU8(pointer + layout.filetype, type);
      guest.setU16(pointer + layout.flags, descriptor.flags);
      guest.setU64(pointer + layout.rightsBase, descriptor.rightsBase);
      guest.setU64(pointer + layout.rightsInheriting, descriptor.rightsInheriting);
    },
    fd_fdstat_set_flags: (fd: number, flags: number) => {
      const descriptor = state.descriptor(fd, Rights.fdFdstatSetFlags);
      if (flags & ~(FdFlags.append | FdFlags.dsync | FdFlags.nonblock | FdFlags.rsync | FdFlags.sync))
        fail(Errno.inval);
      // Synchronised I/O is what a memory file system does anyway; only append and nonblock change anything.
      descriptor.flags = flags;
    },
    fd_fdstat_set_rights: (fd: number, base: bigint, inheriting: bigint) => {
      const descriptor = state.descriptor(fd);
      const wantBase = BigInt.asUintN(64, base);
      const wantInheriting = BigInt.asUintN(64, inheriting);
      // Rights can only be dropped, never gained.
      if (
        (wantBase & ~descriptor.rightsBase) !== 0n ||
        (wantInheriting & ~descriptor.rightsInheriting) !== 0n
      )
        fail(Errno.notcapable);
      descriptor.rightsBase = wantBase;
      descriptor.rightsInheriting = wantInheriting;
    },
    fd_filestat_get: (fd: number, pointer: number) => {
      const descriptor = state.descriptor(fd, Rights.fdFilestatGet);
      const node =
        descriptor.kind === 'file' || descriptor.kind === 'directory' ? descriptor.node : undefined;
      state.writeFilestat(memory(), pointer, node);
    },
    fd_filestat_set_size: (fd: number, size: bigint) => {
      const file = fileOf(state.descriptor(fd, Rights.fdFilestatSetSize));
      const errno = state.fs.resize(file.node, offsetOf(size, Errno.fbig));
      if (errno !== Errno.success) fail(errno);
    },
    fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, flags: number) => {
      const descriptor = state.descriptor(fd, Rights.fdFilestatSetTimes);
      if (descriptor.kind !== 'file' && descriptor.kind !== 'directory') return fail(Errno.badf);
      setTimes(state.fs, descriptor.node, atim, mtim, flags, state.clock.realtime());
    },
    fd_pread: (fd: number, vectors: number, count: number, offset: bigint, readAt: number) => {
      const descriptor = state.descriptor(fd, Rights.fdRead | Rights.fdSeek);
      const guest = memory();
      const total = read(fileOf(descriptor), guest.ioVectors(vectors, count), offsetOf(offset));
      state.moved += total;
      guest.setU32(readAt, total);
    },
    fd_pwrite: (fd: number, vectors: number, count: number, offset: bigint, writtenAt: number) => {
      const descriptor = state.descriptor(fd, Rights.fdWrite | Rights.fdSeek);
      const guest = memory();
      const data = scatter(guest, guest.ioVectors(vectors, count));
      const written = write(fileOf(descriptor), data, offsetOf(offset));
      state.moved += written;
      guest.setU32(writtenAt, written);
    },
    fd_read: (fd: number, vectors: number, count: number, readAt: number) => {
      const descriptor = state.descriptor(fd, Rights.fdRead);
      const guest = memory();
      const total = read(descriptor, guest.ioVectors(vectors, count), undefined);
      state.moved += total;
      guest.setU32(readAt, total);
    },
    fd_write: (fd: number, vectors: number, count: number, writtenAt: number) => {
      const descriptor = state.descriptor(fd, Rights.fdWrite);
      const guest = memory();
      const written = write(descriptor, scatter(guest, guest.ioVectors(vectors, count)), undefined);
      state.moved += written;
      guest.setU32(writtenAt, written);
    },
    fd_prestat_get: (fd: number, pointer: number) => {
      const descriptor = state.descriptor(fd);
      if (descriptor.kind !== 'directory' || descriptor.preopen === undefined) return fail(Errno.badf);
      const guest = memory();
      guest.setU32(pointer + Layout.prestat.tag, 0);
      guest.setU32(pointer + Layout.prestat.nameLength, utf8(descriptor.preopen).length);
    },
    fd_prestat_dir_name: (fd: number, pointer: number, length: number) => {
      const descriptor = state.descriptor(fd);
      if (descriptor.kind !== 'directory' || descriptor.preopen === undefined) return fail(Errno.badf);
      const name = utf8(descriptor.preopen);
      if (length < name.length) fail(Errno.nametoolong);
      memory().write(pointer, name);
    },
    fd_readdir: (fd: number, buffer: number, length: number, cookie: bigint, usedAt: number) => {
      if (state.descriptor(fd).kind !== 'directory') return fail(Errno.notdir);
      const descriptor = state.descriptor(fd, Rights.fdReaddir) as DirectoryDescriptor;
      const entries = listing(descriptor.node);
      const guest = memory();
      const start = BigInt.asUintN(64, cookie) - DIRCOOKIE_START;
      const out = new Uint8Array(length);
      let used = 0;
      for (let i = start; i < BigInt(entries.length) && used < length; i++) {
        const [name, node] = entries[Number(i)] as [Uint8Array, Node];
        const header = new Uint8Array(Layout.dirent.size);
        const fields = new DataView(header.buffer);
        fields.setBigUint64(Layout.dirent.next, i + 1n, true);
        fields.setBigUint64(Layout.dirent.ino, node.ino, true);
        fields.setUint32(Layout.dirent.namlen, name.length, true);
        fields.setUint8(Layout.dirent.type, fileType(node));
        // A listing that does not fit is cut short mid-entry: the guest sees a full buffer and asks again.
        for (const part of [header, name]) {
          const room = length - used;
          out.set(part.subarray(0, room), used);
          used += Math.min(room, part.length);
        }
      }
      guest.write(buffer, out.subarray(0, used));
      guest.setU32(usedAt, used);
    },
    fd_renumber: (fd: number, to: number) => {
      const descriptor = state.descriptor(fd);
      state.descriptor(to);
      state.descriptors.delete(fd);
      state.descriptors.set(to, descriptor);
    },
    fd_seek: (fd: number, offset: bigint, whence: number, resultAt: number) => {
      const rights = offset === 0n && whence === Whence.cur ? Rights.fdTell : Rights.fdSeek;
      const descriptor = state.descriptor(fd, rights);
      if (descriptor.kind === 'directory') return fail(Errno.badf);
      const file = fileOf(descriptor);
      const delta = BigInt.asIntN(64, offset);
      const base =
        whence === Whence.set
          ? 0n
          : whence === Whence.cur
            ? BigInt(file.offset)
            : whence === Whence.end
              ? BigInt(file.node.data.length)
              : fail(Errno.inval);
      const target = base + delta;
      if (target < 0n || target > MAX_OFFSET) fail(Errno.inval);
      file.offset = Number(target);
      memory().setU64(resultAt, target);
    },
    fd_tell: (fd: number, resultAt: number) => {
      const file = fileOf(state.descriptor(fd, Rights.fdTell));
      memory().setU64(resultAt, BigInt(file.offset));
    },
  };
}
