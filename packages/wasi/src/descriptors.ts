/**
 * File descriptors: what each number refers to, its offset, flags and rights.
 * Numbers are given lowest-free-first, as POSIX does, so a program sees the
 * same numbers on every run.
 */
import { DIRECTORY_RIGHTS, FILE_RIGHTS, STDIO_RIGHTS } from './abi';
import type { DirectoryNode, FileNode } from './fs';

interface Common {
  /** `fdflags`: append, nonblock, ... */
  flags: number;
  rightsBase: bigint;
  rightsInheriting: bigint;
}

/** Standard input, output or error. */
export interface StreamDescriptor extends Common {
  readonly kind: 'stdin' | 'stdout' | 'stderr';
}

export interface FileDescriptor extends Common {
  readonly kind: 'file';
  readonly node: FileNode;
  offset: number;
}

export interface DirectoryDescriptor extends Common {
  readonly kind: 'directory';
  readonly node: DirectoryNode;
  /** The guest path of a pre-opened directory (`/`), shown by `fd_prestat_dir_name`. */
  readonly preopen: string | undefined;
}

export type Descriptor = StreamDescriptor | FileDescriptor | DirectoryDescriptor;

export class Descriptors {
  readonly table = new Map<number, Descriptor>();

  get(fd: number): Descriptor | undefined {
    return this.table.get(fd);
  }

  /** Puts `descriptor` at the lowest free number and returns it. */
  add(descriptor: Descriptor): number {
    let fd = 0;
    while (this.table.has(fd)) fd++;
    this.table.set(fd, descriptor);
    return fd;
  }

  set(fd: number, descriptor: Descriptor): void {
    this.table.set(fd, descriptor);
  }

  delete(fd: number): boolean {
    return this.table.delete(fd);
  }
}

/** The three standard streams, with the rights of character devices. */
export function standardStreams(): StreamDescriptor[] {
  return (['stdin', 'stdout', 'stderr'] as const).map((kind) => ({
    kind,
    flags: 0,
    rightsBase: STDIO_RIGHTS,
    rightsInheriting: 0n,
  }));
}

/** A pre-opened directory with every right, and every right for what it opens. */
export function preopened(node: DirectoryNode, path: string): DirectoryDescriptor {
  return {
    kind: 'directory',
    node,
    preopen: path,
    flags: 0,
    rightsBase: DIRECTORY_RIGHTS,
    rightsInheriting: DIRECTORY_RIGHTS | FILE_RIGHTS,
  };
}
