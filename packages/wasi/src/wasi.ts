/**
 * `Wasi`: WASI preview 1 for one guest, deterministic. Give its `imports` to
 * the instance, `attach` the instance (or its memory), run the guest; read
 * what it wrote with `takeOutput`, its files with `files`, and save or
 * restore its whole state.
 */
import {
  type InvalidConfigError,
  type ResolvedWasiConfig,
  type Result,
  type SnapshotError,
  type WasiConfig,
  err,
  ok,
  resolveWasiConfig,
  sandboxError,
  thrownReason,
} from '@ri-sandbox/core';
import { Pcg32 } from '@ri-sandbox/determinism';
import { Errno, WASI_MODULE } from './abi';
import { descriptorCalls } from './calls/fd';
import { pathCalls } from './calls/path';
import { processCalls } from './calls/process';
import type { Calls } from './calls/types';
import { Descriptors, preopened, standardStreams } from './descriptors';
import { Bytes, type DirectoryNode, FileSystem, type Node } from './fs';
import { Fault, GuestMemory } from './guest';
import { loadWasiState, saveWasiState } from './serialize';
import { CallError, Input, Output, VirtualClock, WasiState } from './state';

/** The stream of the random generator WASI draws from (the sandbox's builtin uses another). */
export const WASI_STREAM = 1_664_525n;

/** What a guest wrote to its standard output and error during one execution. */
export interface WasiOutput {
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  /** Whether output past `stdoutLimitBytes` was dropped (the guest's writes succeeded all the same). */
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
}

/** How the embedder ties WASI to its own world. */
export interface WasiHost {
  /** Realtime at the start, in milliseconds since the epoch. Default 0. */
  readonly startTimeMs?: number | undefined;
  /** Seed of the random generator (`random_get`). Default 0. */
  readonly seed?: number | bigint | undefined;
  /**
   * Virtual nanoseconds the current execution has run, read whenever a clock
   * is: a sandbox ties it to gas. Without it, time moves on 1 µs at each clock
   * read by the guest (and with its sleeps).
   */
  readonly elapsedNs?: (() => bigint) | undefined;
  /** Called after each call with the bytes it moved, for a charge (it may throw to stop the guest). */
  readonly onCall?: ((bytes: number) => void) | undefined;
}

/** The guest path of the one pre-opened directory. */
const ROOT = '/';

function tree(fs: FileSystem, files: ResolvedWasiConfig['files']): void {
  for (const [path, contents] of files) {
    const parts = path.split('/').filter((part) => part !== '');
    const name = parts.pop() as string;
    let directory = fs.root;
    for (const part of parts) {
      let next = directory.entries.get(part);
      if (next === undefined) {
        next = fs.directory(directory);
        fs.link(directory, part, next);
      }
      if (next.kind !== 'directory')
        throw new RangeError(`${part} is a file and a folder in the files given`);
      directory = next;
    }
    const existing = directory.entries.get(name);
    if (existing !== undefined) fs.unlink(directory, name);
    fs.link(directory, name, fs.file(contents));
  }
}

/** Time a clock read moves on by when the embedder gives no `elapsedNs`: 1 µs. */
const STEP_PER_READ = 1000n;

function freshState(
  config: ResolvedWasiConfig,
  host: WasiHost,
  elapsed: () => bigint,
  step: bigint,
): WasiState {
  const clock = new VirtualClock(BigInt(Math.trunc(host.startTimeMs ?? 0)) * 1_000_000n, elapsed, 0n, step);
  const fs = new FileSystem(config.maxFileSystemBytes, () => clock.realtime());
  tree(fs, config.files);
  const descriptors = new Descriptors();
  for (const stream of standardStreams()) descriptors.add(stream);
  if (config.preopenRoot) descriptors.add(preopened(fs.root, ROOT));
  return new WasiState({
    fs,
    args: config.args,
    env: config.env,
    stdin: new Input(new Bytes(config.stdin)),
    stdout: new Output(config.stdoutLimitBytes),
    stderr: new Output(config.stderrLimitBytes),
    clock,
    random: new Pcg32(host.seed ?? 0, WASI_STREAM),
    descriptors,
  });
}

/** Every regular file under `directory`, by absolute path, in name order. */
function listFiles(directory: DirectoryNode, prefix: string, out: Record<string, Uint8Array>): void {
  for (const name of [...directory.entries.keys()].sort()) {
    const node = directory.entries.get(name) as Node;
    if (node.kind === 'directory') listFiles(node, `${prefix}${name}/`, out);
    else if (node.kind === 'file') out[`${prefix}${name}`] = node.data.view().slice();
  }
}

export class Wasi {
  /** The import object to instantiate the guest with: `{ wasi_snapshot_preview1: { ... } }`. */
  readonly imports: Readonly<
    Record<typeof WASI_MODULE, Readonly<Record<string, (...args: never[]) => number>>>
  >;
  private state: WasiState;
  private calls: Calls;
  private memory: GuestMemory | undefined;
  private readonly elapsed: () => bigint;
  private readonly stepPerRead: bigint;

  private constructor(
    private readonly config: ResolvedWasiConfig,
    host: WasiHost,
  ) {
    this.elapsed = host.elapsedNs ?? (() => 0n);
    this.stepPerRead = host.elapsedNs === undefined ? STEP_PER_READ : 0n;
    this.state = freshState(config, host, this.elapsed, this.stepPerRead);
    this.calls = this.callsFor(this.state);
    const onCall = host.onCall;
    const wrapped: Record<string, (...args: never[]) => number> = {};
    for (const name of Object.keys(this.calls)) {
      wrapped[name] = (...args: never[]) => {
        const state = this.state;
        state.moved = 0;
        let errno: number = Errno.success;
        try {
          (this.calls[name] as (...values: never[]) => void)(...args);
        } catch (error) {
          if (error instanceof CallError) errno = error.errno;
          else if (error instanceof Fault) errno = Errno.fault;
          else throw error;
        }
        onCall?.(state.moved);
        return errno;
      };
    }
    this.imports = { [WASI_MODULE]: wrapped };
  }

  /**
   * A WASI instance for `config` (see {@link WasiConfig}), tied to `host`;
   * `INVALID_CONFIG` naming the field for a bad config.
   */
  static create(config: WasiConfig = {}, host: WasiHost = {}): Result<Wasi, InvalidConfigError> {
    const resolved = resolveWasiConfig(config);
    if (!resolved.ok) return resolved;
    return ok(new Wasi(resolved.value, host));
  }

  private callsFor(state: WasiState): Calls {
    const memory = () =>
      this.memory ??
      (() => {
        throw new Fault('no memory is attached');
      })();
    return Object.assign(
      {},
      processCalls(state, memory),
      descriptorCalls(state, memory),
      pathCalls(state, memory),
    );
  }

  /** Connects the guest's memory: an instance (its exported `memory`) or the memory itself. */
  attach(target: WebAssembly.Instance | WebAssembly.Memory): void {
    const memory = target instanceof WebAssembly.Memory ? target : target.exports['memory'];
    if (!(memory instanceof WebAssembly.Memory))
      throw new TypeError('the instance exports no memory named "memory"');
    this.memory = new GuestMemory(memory);
  }

  /** What the guest wrote to standard output and error since the last take. */
  takeOutput(): WasiOutput {
    const stdout = this.state.stdout.take();
    const stderr = this.state.stderr.take();
    return {
      stdout: stdout.bytes,
      stderr: stderr.bytes,
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
    };
  }

  /** Folds the current execution's virtual time into the clock, before `elapsedNs` starts again from zero. */
  settleClock(): void {
    this.state.clock.settle();
  }

  /** Every regular file, by absolute guest path, in name order (copies). */
  files(): Record<string, Uint8Array> {
    const out: Record<string, Uint8Array> = {};
    listFiles(this.state.fs.root, ROOT, out);
    return out;
  }

  /**
   * Replaces the whole file tree with `files` (absolute paths, bytes or text),
   * as a fresh instance would start with. Descriptors the guest has open on
   * the old files keep them, as on a POSIX system after an unlink.
   */
  replaceFiles(files: WasiConfig['files']): Result<void, InvalidConfigError> {
    const resolved = resolveWasiConfig({ files, maxFileSystemBytes: this.config.maxFileSystemBytes });
    if (!resolved.ok) return resolved;
    const { fs } = this.state;
    for (const name of [...fs.root.entries.keys()]) fs.unlink(fs.root, name);
    tree(fs, resolved.value.files);
    return ok(undefined);
  }

  /** The whole state as bytes (everything but the guest's memory and the output not yet taken). */
  save(): Uint8Array {
    return saveWasiState(this.state);
  }

  /**
   * Checks a state `save` returned, without changing anything: `SNAPSHOT_ERROR`
   * if the bytes are not one, else a function that puts it in place.
   */
  prepareRestore(bytes: Uint8Array): Result<() => void, SnapshotError> {
    let state: WasiState;
    try {
      state = loadWasiState(bytes, {
        elapsedNs: this.elapsed,
        stepPerRead: this.stepPerRead,
        stdoutLimitBytes: this.config.stdoutLimitBytes,
        stderrLimitBytes: this.config.stderrLimitBytes,
      });
    } catch (error) {
      const reason = thrownReason(error);
      return err(sandboxError.snapshotError(`the WASI state cannot be read: ${reason}`));
    }
    return ok(() => {
      this.state = state;
      this.calls = this.callsFor(state);
    });
  }

  /** Puts back a state `save` returned; `SNAPSHOT_ERROR` (and nothing changed) if the bytes are not one. */
  restore(bytes: Uint8Array): Result<void, SnapshotError> {
    const prepared = this.prepareRestore(bytes);
    if (!prepared.ok) return prepared;
    prepared.value();
    return ok(undefined);
  }
}
