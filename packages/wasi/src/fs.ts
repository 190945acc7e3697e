/**
 * The virtual file system: files, directories and symbolic links in memory,
 * with inode numbers of its own (never shared with another instance), virtual
 * timestamps, a size limit for the whole tree, and path resolution that never
 * leaves the directory it starts from (`..`, absolute paths and symbolic
 * links included). Operations answer an `Errno`, never throw.
 */
import { MAX_PATH_BYTES } from '@ri-sandbox/core';
import { Errno } from './abi';
import { utf8 } from './text';

/** Access, modification and status-change times, in nanoseconds since the epoch (virtual). */
export interface Times {
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

/** File contents: a buffer that grows geometrically, so appending is amortised O(1). */
export class Bytes {
  private data: Uint8Array;
  private size = 0;

  constructor(initial?: Uint8Array) {
    this.data = initial === undefined ? new Uint8Array(0) : initial.slice();
    this.size = this.data.length;
  }

  get length(): number {
    return this.size;
  }

  /** The contents, as a view (valid until the next write). */
  view(): Uint8Array {
    return this.data.subarray(0, this.size);
  }

  /** At most `length` bytes from `offset`, as a view. */
  read(offset: number, length: number): Uint8Array {
    const start = Math.min(offset, this.size);
    return this.data.subarray(start, Math.min(this.size, start + length));
  }

  private reserve(capacity: number): void {
    if (capacity <= this.data.length) return;
    const grown = new Uint8Array(Math.max(capacity, this.data.length * 2, 64));
    grown.set(this.data.subarray(0, this.size));
    this.data = grown;
  }

  /** Writes `chunk` at `offset`, zero-filling any gap after the current end. */
  write(offset: number, chunk: Uint8Array): void {
    const end = offset + chunk.length;
    this.reserve(end);
    if (offset > this.size) this.data.fill(0, this.size, offset);
    this.data.set(chunk, offset);
    this.size = Math.max(this.size, end);
  }

  /** Truncates or zero-extends to `size` bytes. */
  resize(size: number): void {
    if (size > this.size) {
      this.reserve(size);
      this.data.fill(0, this.size, size);
    }
    this.size = size;
  }
}

export class FileNode {
  readonly kind = 'file';
  nlink = 0;
  constructor(
    readonly ino: bigint,
    readonly data: Bytes,
    readonly times: Times,
  ) {}
}

export class DirectoryNode {
  readonly kind = 'directory';
  /** Entries by name; iteration order is insertion order, listings sort by name. */
  readonly entries = new Map<string, Node>();
  /** The directory holding this one (itself, for the root). */
  parent: DirectoryNode;
  constructor(
    readonly ino: bigint,
    readonly times: Times,
    parent?: DirectoryNode,
  ) {
    this.parent = parent ?? this;
  }
}

export class SymlinkNode {
  readonly kind = 'symlink';
  constructor(
    readonly ino: bigint,
    readonly target: string,
    readonly times: Times,
  ) {}
}

export type Node = FileNode | DirectoryNode | SymlinkNode;

/** Where a path leads: the directory that holds (or would hold) its last component, that name, and the node if any. */
export interface Resolved {
  readonly parent: DirectoryNode;
  readonly name: string;
  readonly node: Node | undefined;
  /** The path ended with `/`: its target must be a directory. */
  readonly trailingSlash: boolean;
}

/** How many symbolic links one resolution may follow, as Linux allows. */
const MAX_SYMLINKS = 40;

/** A path's components, without empty ones (`a//b` is `a/b`). */
function components(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/** The file system of one WASI instance. */
export class FileSystem {
  readonly root: DirectoryNode;
  private nextIno = 1n;
  private used = 0;

  /**
   * @param maxBytes - The most the contents of all files may take together.
   * @param now - The current time (virtual), in nanoseconds since the epoch.
   */
  constructor(
    readonly maxBytes: number,
    private readonly now: () => bigint,
    /** A tree to take over (a restored one) and the next inode number to give. */
    restored?: { readonly root: DirectoryNode; readonly nextIno: bigint },
  ) {
    if (restored === undefined) {
      this.root = this.directory();
      return;
    }
    this.root = restored.root;
    this.nextIno = restored.nextIno;
    const counted = new Set<FileNode>();
    const visit = (directory: DirectoryNode) => {
      for (const node of directory.entries.values()) {
        if (node.kind === 'directory') visit(node);
        else if (node.kind === 'file' && !counted.has(node)) {
          counted.add(node);
          this.used += node.data.length;
        }
      }
    };
    visit(this.root);
  }

  /** The inode number the next node will get. */
  get upcomingIno(): bigint {
    return this.nextIno;
  }

  /** Bytes the contents of all files take. */
  get usedBytes(): number {
    return this.used;
  }

  private times(): Times {
    const now = this.now();
    return { atim: now, mtim: now, ctim: now };
  }

  private ino(): bigint {
    return this.nextIno++;
  }

  /** A new directory, not yet in the tree. */
  directory(parent?: DirectoryNode): DirectoryNode {
    return new DirectoryNode(this.ino(), this.times(), parent);
  }

  /** A new file, not yet in the tree (its contents count against the limit once linked). */
  file(contents?: Uint8Array): FileNode {
    return new FileNode(this.ino(), new Bytes(contents), this.times());
  }

  symlink(target: string): SymlinkNode {
    return new SymlinkNode(this.ino(), target, this.times());
  }

  /** Marks a node changed (its status time, and its modification time for contents). */
  touch(node: Node, contents: boolean): void {
    const now = this.now();
    node.times.ctim = now;
    if (contents) node.times.mtim = now;
  }

  /**
   * Resolves `path` from `base`, never above it. Intermediate symbolic links
   * are followed (relative targets only); the last one too when `follow`.
   * Errors: `NOENT` (a missing directory on the way, an empty path),
   * `NOTDIR`, `LOOP`, `NAMETOOLONG`, `NOTCAPABLE` (an absolute path, or one
   * that climbs above `base`).
   */
  resolve(base: DirectoryNode, path: string, follow: boolean): Resolved | Errno {
    if (path === '') return Errno.noent;
    if (utf8(path).length > MAX_PATH_BYTES) return Errno.nametoolong;
    if (path.startsWith('/')) return Errno.notcapable;
    const stack: DirectoryNode[] = [base];
    const pending = components(path).reverse();
    let trailingSlash = path.endsWith('/');
    let links = 0;
    for (;;) {
      const part = pending.pop();
      const directory = stack[stack.length - 1] as DirectoryNode;
      if (part === undefined) return { parent: directory, name: '.', node: directory, trailingSlash };
      const last = pending.length === 0;
      if (part === '.') {
        if (last) return { parent: directory, name: '.', node: directory, trailingSlash: true };
        continue;
      }
      if (part === '..') {
        if (stack.length === 1) return Errno.notcapable;
        stack.pop();
        if (last) {
          const up = stack[stack.length - 1] as DirectoryNode;
          return { parent: up, name: '.', node: up, trailingSlash: true };
        }
        continue;
      }
      const node = directory.entries.get(part);
      if (node?.kind === 'symlink' && (!last || follow || trailingSlash)) {
        if (++links > MAX_SYMLINKS) return Errno.loop;
        if (node.target.startsWith('/')) return Errno.notcapable;
        if (node.target === '') return Errno.noent;
        if (last && node.target.endsWith('/')) trailingSlash = true;
        pending.push(...components(node.target).reverse());
        if (pending.length === 0) pending.push('.');
        continue;
      }
      if (last) {
        if (trailingSlash && node !== undefined && node.kind !== 'directory') return Errno.notdir;
        return { parent: directory, name: part, node, trailingSlash };
      }
      if (node === undefined) return Errno.noent;
      if (node.kind !== 'directory') return Errno.notdir;
      stack.push(node);
    }
  }

  /** Whether `bytes` more bytes of contents fit under the limit. */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.maxBytes;
  }

  /** Writes into a file, growing it; `NOSPC` past the limit, `FBIG` past 2^53 - 1. */
  write(file: FileNode, offset: number, chunk: Uint8Array): Errno {
    const end = offset + chunk.length;
    if (!Number.isSafeInteger(end)) return Errno.fbig;
    const growth = Math.max(0, end - file.data.length);
    if (!this.fits(growth)) return Errno.nospc;
    if (chunk.length > 0) {
      file.data.write(offset, chunk);
      this.used += growth;
      this.touch(file, true);
    }
    return Errno.success;
  }

  /** Sets a file's size; `NOSPC` past the limit. */
  resize(file: FileNode, size: number): Errno {
    if (!Number.isSafeInteger(size)) return Errno.fbig;
    const growth = size - file.data.length;
    if (!this.fits(growth)) return Errno.nospc;
    file.data.resize(size);
    this.used += growth;
    this.touch(file, true);
    return Errno.success;
  }

  /** Puts `node` into `directory` as `name` (the entry must be free). */
  link(directory: DirectoryNode, name: string, node: Node): void {
    directory.entries.set(name, node);
    if (node.kind === 'file') {
      if (node.nlink === 0) this.used += node.data.length;
      node.nlink++;
    }
    if (node.kind === 'directory') node.parent = directory;
    this.touch(directory, true);
  }

  /** Removes the entry `name` of `directory` (a file's contents are freed with its last link). */
  unlink(directory: DirectoryNode, name: string): void {
    const node = directory.entries.get(name);
    if (node === undefined) return;
    directory.entries.delete(name);
    if (node.kind === 'file') {
      node.nlink--;
      if (node.nlink === 0) this.used -= node.data.length;
      this.touch(node, false);
    }
    this.touch(directory, true);
  }

  /** Whether `node` is `directory` or one of its ancestors (a directory cannot move into itself). */
  static contains(node: Node, directory: DirectoryNode): boolean {
    for (let at = directory; ; at = at.parent) {
      if (at === node) return true;
      if (at.parent === at) return false;
    }
  }
}
