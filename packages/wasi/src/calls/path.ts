/**
 * The calls on paths, each relative to a directory descriptor and never
 * leaving it: opening and creating, directories, links and symbolic links,
 * renaming, removing, and status.
 */
import { DIRECTORY_RIGHTS, Errno, FILE_RIGHTS, FdFlags, LookupFlags, OFlags, Rights } from '../abi';
import type { DirectoryDescriptor } from '../descriptors';
import { MAX_PATH_BYTES } from '@ri-sandbox/core';
import { FileSystem, type Resolved } from '../fs';
import type { GuestMemory } from '../guest';
import { type WasiState, fail } from '../state';
import { utf8 } from '../text';
import { setTimes } from './fd';
import type { Calls } from './types';

/** The path calls, over `state` and the guest's memory. */
export function pathCalls(state: WasiState, memory: () => GuestMemory): Calls {
  const { fs } = state;

  /** The directory descriptor `fd`, with `rights`: `NOTDIR` for a file, `BADF` for a stream, then `NOTCAPABLE`. */
  const directory = (fd: number, rights: bigint): DirectoryDescriptor => {
    const descriptor = state.descriptor(fd);
    if (descriptor.kind !== 'directory') return fail(descriptor.kind === 'file' ? Errno.notdir : Errno.badf);
    return state.descriptor(fd, rights) as DirectoryDescriptor;
  };

  const text = (pointer: number, length: number): string => {
    const path = memory().text(pointer, length);
    if (path === undefined) return fail(Errno.ilseq);
    state.moved += length;
    return path;
  };

  /** Resolves the guest's path from the directory `fd` (with `rights`). */
  const resolve = (
    fd: number,
    rights: bigint,
    pointer: number,
    length: number,
    follow: boolean,
  ): Resolved => {
    const base = directory(fd, rights).node;
    const resolved = fs.resolve(base, text(pointer, length), follow);
    return typeof resolved === 'number' ? fail(resolved) : resolved;
  };

  /** The resolved path's node, which must exist. */
  const existing = (resolved: Resolved) => resolved.node ?? fail(Errno.noent);

  /** The resolved path as a new entry: it must not exist, and must not be `.` or `..`. */
  const fresh = (resolved: Resolved): Resolved => {
    if (resolved.node !== undefined) fail(Errno.exist);
    return resolved;
  };

  return {
    path_create_directory: (fd: number, pointer: number, length: number) => {
      const target = fresh(resolve(fd, Rights.pathCreateDirectory, pointer, length, false));
      fs.link(target.parent, target.name, fs.directory(target.parent));
    },

    path_filestat_get: (fd: number, flags: number, pointer: number, length: number, statAt: number) => {
      const follow = (flags & LookupFlags.symlinkFollow) !== 0;
      const node = existing(resolve(fd, Rights.pathFilestatGet, pointer, length, follow));
      state.writeFilestat(memory(), statAt, node);
    },

    path_filestat_set_times: (
      fd: number,
      flags: number,
      pointer: number,
      length: number,
      atim: bigint,
      mtim: bigint,
      fstFlags: number,
    ) => {
      const follow = (flags & LookupFlags.symlinkFollow) !== 0;
      const node = existing(resolve(fd, Rights.pathFilestatSetTimes, pointer, length, follow));
      setTimes(fs, node, atim, mtim, fstFlags, state.clock.realtime());
    },

    path_link: (
      oldFd: number,
      oldFlags: number,
      oldPointer: number,
      oldLength: number,
      newFd: number,
      newPointer: number,
      newLength: number,
    ) => {
      const follow = (oldFlags & LookupFlags.symlinkFollow) !== 0;
      const source = existing(resolve(oldFd, Rights.pathLinkSource, oldPointer, oldLength, follow));
      const target = resolve(newFd, Rights.pathLinkTarget, newPointer, newLength, false);
      if (source.kind === 'directory') fail(Errno.perm);
      if (target.trailingSlash && target.node === undefined) fail(Errno.noent);
      fresh(target);
      fs.link(target.parent, target.name, source);
    },

    path_open: (
      fd: number,
      dirFlags: number,
      pointer: number,
      length: number,
      oflags: number,
      rightsBase: bigint,
      rightsInheriting: bigint,
      fdFlags: number,
      fdAt: number,
    ) => {
      const creat = (oflags & OFlags.creat) !== 0;
      const truncate = (oflags & OFlags.trunc) !== 0;
      let needed = Rights.pathOpen;
      if (creat) needed |= Rights.pathCreateFile;
      if (truncate) needed |= Rights.pathFilestatSetSize;
      const parent = directory(fd, needed);
      const follow = (dirFlags & LookupFlags.symlinkFollow) !== 0;
      const resolved = fs.resolve(parent.node, text(pointer, length), follow);
      if (typeof resolved === 'number') return fail(resolved);
      let node = resolved.node;
      if (node === undefined) {
        if (!creat) return fail(Errno.noent);
        if ((oflags & OFlags.directory) !== 0 || resolved.trailingSlash) return fail(Errno.isdir);
        node = fs.file();
        fs.link(resolved.parent, resolved.name, node);
      } else if (creat && (oflags & OFlags.excl) !== 0) {
        return fail(Errno.exist);
      }
      if (node.kind === 'symlink') return fail(Errno.loop);
      if ((oflags & OFlags.directory) !== 0 && node.kind !== 'directory') return fail(Errno.notdir);
      const base = BigInt.asUintN(64, rightsBase) & parent.rightsInheriting;
      const inheriting = BigInt.asUintN(64, rightsInheriting) & parent.rightsInheriting;
      if (node.kind === 'directory') {
        const writes = Rights.fdWrite | Rights.fdAllocate | Rights.fdFilestatSetSize;
        if (truncate || (base & writes) !== 0n || (fdFlags & FdFlags.append) !== 0) return fail(Errno.isdir);
        const descriptor = {
          kind: 'directory' as const,
          node,
          preopen: undefined,
          flags: fdFlags,
          rightsBase: base & DIRECTORY_RIGHTS,
          rightsInheriting: inheriting,
        };
        memory().setU32(fdAt, state.descriptors.add(descriptor));
        return;
      }
      if (truncate) {
        const errno = fs.resize(node, 0);
        if (errno !== Errno.success) return fail(errno);
      }
      const descriptor = {
        kind: 'file' as const,
        node,
        offset: 0,
        flags: fdFlags,
        rightsBase: base & FILE_RIGHTS,
        rightsInheriting: inheriting,
      };
      memory().setU32(fdAt, state.descriptors.add(descriptor));
    },

    path_readlink: (
      fd: number,
      pointer: number,
      length: number,
      buffer: number,
      bufferLength: number,
      usedAt: number,
    ) => {
      const node = existing(resolve(fd, Rights.pathReadlink, pointer, length, false));
      if (node.kind !== 'symlink') return fail(Errno.inval);
      const target = utf8(node.target).subarray(0, bufferLength);
      const guest = memory();
      guest.write(buffer, target);
      guest.setU32(usedAt, target.length);
    },

    path_remove_directory: (fd: number, pointer: number, length: number) => {
      const resolved = resolve(fd, Rights.pathRemoveDirectory, pointer, length, false);
      const node = existing(resolved);
      if (node.kind !== 'directory') return fail(Errno.notdir);
      if (resolved.name === '.') return fail(Errno.inval);
      if (node.entries.size > 0) return fail(Errno.notempty);
      fs.unlink(resolved.parent, resolved.name);
    },

    path_rename: (
      fd: number,
      oldPointer: number,
      oldLength: number,
      newFd: number,
      newPointer: number,
      newLength: number,
    ) => {
      const from = resolve(fd, Rights.pathRenameSource, oldPointer, oldLength, false);
      const to = resolve(newFd, Rights.pathRenameTarget, newPointer, newLength, false);
      const node = existing(from);
      if (from.name === '.' || to.name === '.') return fail(Errno.busy);
      if (node.kind !== 'directory' && (from.trailingSlash || to.trailingSlash)) return fail(Errno.notdir);
      const replaced = to.node;
      if (replaced === node) return;
      if (node.kind === 'directory') {
        if (FileSystem.contains(node, to.parent)) return fail(Errno.inval);
        if (replaced !== undefined && replaced.kind !== 'directory') return fail(Errno.notdir);
        if (replaced?.kind === 'directory' && replaced.entries.size > 0) return fail(Errno.notempty);
      } else if (replaced?.kind === 'directory') {
        return fail(Errno.isdir);
      }
      if (replaced !== undefined) fs.unlink(to.parent, to.name);
      // Linked under the new name before the old one goes, so a file never counts as freed on the way.
      fs.link(to.parent, to.name, node);
      fs.unlink(from.parent, from.name);
    },

    path_symlink: (
      oldPointer: number,
      oldLength: number,
      fd: number,
      newPointer: number,
      newLength: number,
    ) => {
      const target = text(oldPointer, oldLength);
      if (utf8(target).length > MAX_PATH_BYTES) return fail(Errno.nametoolong);
      // A link to an absolute path could only ever lead outside the guest's tree.
      if (target.startsWith('/')) return fail(Errno.notcapable);
      const link = resolve(fd, Rights.pathSymlink, newPointer, newLength, false);
      if (link.trailingSlash && link.node === undefined) return fail(Errno.noent);
      fresh(link);
      fs.link(link.parent, link.name, fs.symlink(target));
    },

    path_unlink_file: (fd: number, pointer: number, length: number) => {
      const resolved = resolve(fd, Rights.pathUnlinkFile, pointer, length, false);
      const node = existing(resolved);
      if (node.kind === 'directory') return fail(Errno.isdir);
      if (resolved.trailingSlash) return fail(Errno.notdir);
      fs.unlink(resolved.parent, resolved.name);
    },
  };
}
