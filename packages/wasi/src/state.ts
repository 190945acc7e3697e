/**
 * Everything a WASI instance holds, apart from the guest's memory: the file
 * system, the descriptors, arguments and environment, standard input and the
 * captured output, the virtual clock and the random generator. This is what
 * a snapshot saves; nothing here reads the host's clock or randomness.
 */
import { Pcg32 } from '@ri-sandbox/determinism';
import { ClockId, Errno, FileType, Layout } from './abi';
import type { Descriptor, Descriptors } from './descriptors';
import type { Bytes, FileSystem, Node } from './fs';
import type { GuestMemory } from './guest';
import { utf8 } from './text';

/** Output the guest wrote to one stream during the current execution, up to a limit. */
export class Output {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Whether something was dropped because the limit was reached. */
  truncated = false;

  constructor(readonly limitBytes: number) {}

  /** Keeps what fits under the limit; the guest's write succeeds in full either way. */
  write(data: Uint8Array): void {
    const room = this.limitBytes - this.size;
    if (data.length > room) this.truncated = true;
    const kept = data.length > room ? data.subarray(0, Math.max(0, room)) : data;
    if (kept.length === 0) return;
    this.chunks.push(kept.slice());
    this.size += kept.length;
  }

  /** What was written since the last take, and clears it. */
  take(): { readonly bytes: Uint8Array; readonly truncated: boolean } {
    const bytes = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    const truncated = this.truncated;
    this.chunks = [];
    this.size = 0;
    this.truncated = false;
    return { bytes, truncated };
  }
}

/** The stream of standard input: its bytes and how far the guest has read. */
export class Input {
  constructor(
    readonly data: Bytes,
    public offset = 0,
  ) {}

  read(length: number): Uint8Array {
    const chunk = this.data.read(this.offset, length);
    this.offset += chunk.length;
    return chunk;
  }
}

/**
 * Virtual time. The monotonic clock is the time carried over from earlier
 * (executions already settled, sleeps) plus `elapsed()`, the virtual time of
 * the current execution, which the embedder ties to something deterministic
 * such as gas used; the realtime clock is the start time plus the monotonic
 * clock. Nothing here reads a real clock.
 */
export class VirtualClock {
  constructor(
    /** Realtime at monotonic zero, in nanoseconds since the epoch. */
    readonly startNs: bigint,
    private readonly elapsed: () => bigint,
    /** Monotonic time settled so far: finished executions and sleeps. */
    public offsetNs = 0n,
    /** How far each read by the guest moves time on, for an embedder without `elapsed` of its own. */
    private readonly stepPerRead = 0n,
  ) {}

  monotonic(): bigint {
    return this.offsetNs + this.elapsed();
  }

  realtime(): bigint {
    return this.startNs + this.monotonic();
  }

  /** The clock `id` as the guest reads it, or `undefined` for an unknown one. CPU-time clocks are the monotonic clock. */
  read(id: number): bigint | undefined {
    this.offsetNs += this.stepPerRead;
    if (id === ClockId.realtime) return this.realtime();
    if (id === ClockId.monotonic || id === ClockId.processCputime || id === ClockId.threadCputime)
      return this.monotonic();
    return undefined;
  }

  /** Folds the current execution's virtual time in, before the embedder starts counting afresh. */
  settle(): void {
    this.offsetNs += this.elapsed();
  }
}

/** A failure a call answers: the errno it returns to the guest. */
export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(readonly errno: Errno) {
    super(`errno ${errno}`);
  }
}

/** Returns `errno` from the current call. */
export function fail(errno: Errno): never {
  throw new CallError(errno);
}

/** The parts of a {@link WasiState}. */
export interface WasiParts {
  readonly fs: FileSystem;
  readonly args: readonly Uint8Array[];
  readonly env: readonly Uint8Array[];
  readonly stdin: Input;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly clock: VirtualClock;
  readonly random: Pcg32;
  readonly descriptors: Descriptors;
}

/** Everything one WASI instance holds. */
export class WasiState implements WasiParts {
  readonly fs: FileSystem;
  readonly args: readonly Uint8Array[];
  readonly env: readonly Uint8Array[];
  readonly stdin: Input;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly clock: VirtualClock;
  readonly random: Pcg32;
  readonly descriptors: Descriptors;
  /** Bytes moved by the current call, for its gas charge. */
  moved = 0;

  constructor(parts: WasiParts) {
    ({
      fs: this.fs,
      args: this.args,
      env: this.env,
      stdin: this.stdin,
      stdout: this.stdout,
      stderr: this.stderr,
      clock: this.clock,
      random: this.random,
      descriptors: this.descriptors,
    } = parts);
  }

  /** The descriptor `fd`, which must have every right in `rights`: `BADF` if there is none, `NOTCAPABLE` without them. */
  descriptor(fd: number, rights = 0n): Descriptor {
    const descriptor = this.descriptors.get(fd);
    if (descriptor === undefined) return fail(Errno.badf);
    if ((descriptor.rightsBase & rights) !== rights) return fail(Errno.notcapable);
    return descriptor;
  }

  /** Writes a `filestat` for `node` (or a stream) at `pointer`. */
  writeFilestat(memory: GuestMemory, pointer: number, node: Node | undefined): void {
    const at = Layout.filestat;
    memory.fill(pointer, at.size, (view) => view.fill(0));
    memory.setU64(pointer + at.dev, 1n);
    if (node === undefined) {
      memory.setU8(pointer + at.filetype, FileType.characterDevice);
      memory.setU64(pointer + at.nlink, 1n);
      return;
    }
    memory.setU64(pointer + at.ino, node.ino);
    memory.setU8(pointer + at.filetype, fileType(node));
    memory.setU64(pointer + at.nlink, BigInt(node.kind === 'file' ? node.nlink : 1));
    const size =
      node.kind === 'file' ? node.data.length : node.kind === 'symlink' ? utf8(node.target).length : 0;
    memory.setU64(pointer + at.size_, BigInt(size));
    memory.setU64(pointer + at.atim, node.times.atim);
    memory.setU64(pointer + at.mtim, node.times.mtim);
    memory.setU64(pointer + at.ctim, node.times.ctim);
  }
}

/** The WASI file type of a node. */
export function fileType(node: Node): FileType {
  if (node.kind === 'file') return FileType.regularFile;
  return node.kind === 'directory' ? FileType.directory : FileType.symbolicLink;
}
