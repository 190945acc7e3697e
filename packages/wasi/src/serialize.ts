/**
 * A WASI instance's whole state as bytes, for snapshots: arguments and
 * environment, the virtual clock, the random generator, the file tree (hard
 * links kept), the descriptors with their offsets, flags and rights, and what
 * is left of standard input. Written with the core codec's LEB128 primitives.
 */
import { ByteReader, ByteWriter } from '@ri-sandbox/core';
import { Pcg32 } from '@ri-sandbox/determinism';
import { type Descriptor, Descriptors } from './descriptors';
import { Bytes, DirectoryNode, FileNode, FileSystem, type Node, SymlinkNode, type Times } from './fs';
import { Input, Output, VirtualClock, WasiState } from './state';

/** The version of this layout; bump it with any change. */
export const WASI_STATE_VERSION = 1;

const KIND = { file: 0, directory: 1, symlink: 2 } as const;
const STREAMS = ['stdin', 'stdout', 'stderr'] as const;

const i64 = (value: bigint) => BigInt.asIntN(64, value);
const u64 = (value: bigint) => BigInt.asUintN(64, value);

function writeTimes(w: ByteWriter, times: Times): void {
  w.s64(i64(times.atim)).s64(i64(times.mtim)).s64(i64(times.ctim));
}

/** Every node of the tree, each once (a hard-linked file is reached twice), the root first. */
function nodesOf(root: DirectoryNode): Node[] {
  const seen = new Set<Node>();
  const order: Node[] = [];
  const visit = (node: Node) => {
    if (seen.has(node)) return;
    seen.add(node);
    order.push(node);
    if (node.kind === 'directory') for (const child of node.entries.values()) visit(child);
  };
  visit(root);
  return order;
}

/** `state` as bytes. */
export function saveWasiState(state: WasiState): Uint8Array {
  const w = new ByteWriter(1024 + state.fs.usedBytes);
  w.u8(WASI_STATE_VERSION);
  w.vector(state.args, (out, arg) => out.byteVector(arg));
  w.vector(state.env, (out, variable) => out.byteVector(variable));
  w.s64(i64(state.clock.startNs)).s64(i64(state.clock.monotonic()));
  const random = state.random.save();
  w.s64(i64(random.state)).s64(i64(random.increment));
  w.s64(BigInt(state.fs.maxBytes)).s64(state.fs.upcomingIno);
  w.vector(nodesOf(state.fs.root), (out, node) => {
    out.s64(i64(node.ino)).u8(KIND[node.kind]);
    writeTimes(out, node.times);
    if (node.kind === 'file') out.byteVector(node.data.view());
    else if (node.kind === 'symlink') out.name(node.target);
    else {
      out.s64(i64(node.parent.ino));
      out.vector([...node.entries], (entries, [name, child]) => entries.name(name).s64(i64(child.ino)));
    }
  });
  w.vector([...state.descriptors.table], (out, [fd, d]) => {
    out.u32(fd).u8(d.kind === 'file' ? 3 : d.kind === 'directory' ? 4 : STREAMS.indexOf(d.kind));
    out.u32(d.flags).s64(i64(d.rightsBase)).s64(i64(d.rightsInheriting));
    if (d.kind === 'file') out.s64(i64(d.node.ino)).s64(BigInt(d.offset));
    if (d.kind === 'directory') {
      out.s64(i64(d.node.ino)).u8(d.preopen === undefined ? 0 : 1);
      if (d.preopen !== undefined) out.name(d.preopen);
    }
  });
  w.byteVector(state.stdin.data.view()).s64(BigInt(state.stdin.offset));
  return w.finish();
}

/** Where the restored state's pieces come from besides the bytes: the embedder's clock and output limits. */
export interface RestoreContext {
  readonly elapsedNs: () => bigint;
  /** How far each clock read moves time on (see `VirtualClock`). */
  readonly stepPerRead: bigint;
  readonly stdoutLimitBytes: number;
  readonly stderrLimitBytes: number;
}

/** Reads the node table and links the tree: the root and every node by inode number. */
function readTree(r: ByteReader): { root: DirectoryNode; byIno: Map<bigint, Node> } {
  const byIno = new Map<bigint, Node>();
  const links: [DirectoryNode, bigint, [string, bigint][]][] = [];
  const nodes = r.vector((input) => {
    const ino = u64(input.s64());
    const kind = input.u8();
    const times = { atim: u64(input.s64()), mtim: u64(input.s64()), ctim: u64(input.s64()) };
    let node: Node;
    if (kind === KIND.file) node = new FileNode(ino, new Bytes(input.byteVector()), times);
    else if (kind === KIND.symlink) node = new SymlinkNode(ino, input.name(), times);
    else if (kind === KIND.directory) {
      const directory = new DirectoryNode(ino, times);
      links.push([
        directory,
        u64(input.s64()),
        input.vector((e): [string, bigint] => [e.name(), u64(e.s64())]),
      ]);
      node = directory;
    } else throw new RangeError(`unknown node kind ${kind}`);
    if (byIno.has(ino)) throw new RangeError(`inode ${ino} appears twice`);
    byIno.set(ino, node);
    return node;
  });
  const root = nodes[0];
  if (root?.kind !== 'directory') throw new RangeError('the tree has no root folder');
  const find = (ino: bigint): Node => {
    const found = byIno.get(ino);
    if (found === undefined) throw new RangeError(`no inode ${ino}`);
    return found;
  };
  for (const [directory, parentIno, entries] of links) {
    for (const [name, ino] of entries) {
      const child = find(ino);
      directory.entries.set(name, child);
      if (child.kind === 'file') child.nlink++;
    }
    const parent = find(parentIno);
    if (parent.kind !== 'directory')
      throw new RangeError(`the parent of inode ${directory.ino} is not a folder`);
    directory.parent = parent;
  }
  return { root, byIno };
}

/**
 * The state `bytes` describe. Throws `WasmDecodeError` (from the reader) or
 * `RangeError` for bytes that are not a state this version wrote; the caller
 * turns either into `SNAPSHOT_ERROR`.
 */
export function loadWasiState(bytes: Uint8Array, context: RestoreContext): WasiState {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== WASI_STATE_VERSION) throw new RangeError(`WASI state version ${version} is not supported`);
  const args = r.vector((input) => input.byteVector().slice());
  const env = r.vector((input) => input.byteVector().slice());
  const clock = new VirtualClock(u64(r.s64()), context.elapsedNs, u64(r.s64()), context.stepPerRead);
  const random = new Pcg32(0);
  random.restore({ state: u64(r.s64()), increment: u64(r.s64()) });
  const maxBytes = Number(r.s64());
  const nextIno = u64(r.s64());
  const { root, byIno } = readTree(r);
  const fs = new FileSystem(maxBytes, () => clock.realtime(), { root, nextIno });
  const descriptors = new Descriptors();
  const nodeOf = <K extends Node['kind']>(
    input: ByteReader,
    fd: number,
    kind: K,
  ): Extract<Node, { kind: K }> => {
    const found = byIno.get(u64(input.s64()));
    if (found?.kind !== kind) throw new RangeError(`descriptor ${fd} is not of a ${kind}`);
    return found as Extract<Node, { kind: K }>;
  };
  r.vector((input) => {
    const fd = input.u32();
    const kind = input.u8();
    const common = { flags: input.u32(), rightsBase: u64(input.s64()), rightsInheriting: u64(input.s64()) };
    let descriptor: Descriptor;
    if (kind <= 2) descriptor = { kind: STREAMS[kind] as (typeof STREAMS)[number], ...common };
    else if (kind === 3)
      descriptor = { kind: 'file', node: nodeOf(input, fd, 'file'), offset: Number(input.s64()), ...common };
    else if (kind === 4) {
      const node = nodeOf(input, fd, 'directory');
      descriptor = {
        kind: 'directory',
        node,
        preopen: input.u8() === 1 ? input.name() : undefined,
        ...common,
      };
    } else throw new RangeError(`unknown descriptor kind ${kind}`);
    descriptors.set(fd, descriptor);
  });
  const stdin = new Input(new Bytes(r.byteVector()), Number(r.s64()));
  if (!r.done) throw new RangeError('unread bytes after the WASI state');
  return new WasiState({
    fs,
    args,
    env,
    stdin,
    stdout: new Output(context.stdoutLimitBytes),
    stderr: new Output(context.stderrLimitBytes),
    clock,
    random,
    descriptors,
  });
}
