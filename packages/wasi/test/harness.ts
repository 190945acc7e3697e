/**
 * Calls WASI functions directly, as a guest would, over a memory of its own:
 * strings and buffers are written into memory, pointers passed, results read
 * back. For unit tests of single calls; whole programs are in `tests/wasi/`.
 */
import { expect } from 'vitest';
import type { WasiConfig } from '@ri-sandbox/core';
import { Errno, Wasi, type WasiHost } from '../src/index';

type Value = number | bigint;

export class Harness {
  readonly memory = new WebAssembly.Memory({ initial: 2 });
  readonly wasi: Wasi;
  /** Where the next scratch allocation goes. */
  private next = 1024;

  constructor(config: WasiConfig = {}, host: WasiHost = {}) {
    const created = Wasi.create(config, host);
    if (!created.ok) throw new Error(created.error.message);
    this.wasi = created.value;
    this.wasi.attach(this.memory);
  }

  get view(): DataView {
    return new DataView(this.memory.buffer);
  }

  /** `size` bytes of scratch memory, 8-aligned. */
  alloc(size: number): number {
    const at = this.next;
    this.next += Math.ceil(size / 8) * 8 + 8;
    return at;
  }

  /** Writes `data` into scratch memory: its pointer and length. */
  put(data: string | Uint8Array): [pointer: number, length: number] {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const at = this.alloc(bytes.length);
    new Uint8Array(this.memory.buffer).set(bytes, at);
    return [at, bytes.length];
  }

  /** Calls `name` with `args`; returns its errno. */
  call(name: string, ...args: Value[]): number {
    const fn = this.wasi.imports.wasi_snapshot_preview1[name] as unknown as (...values: Value[]) => number;
    return fn(...args);
  }

  /** Calls `name` and expects `errno`. */
  expect(errno: number, name: string, ...args: Value[]): void {
    expect({ [name]: this.call(name, ...args) }).toEqual({ [name]: errno });
  }

  /** Calls `name` and expects success. */
  ok(name: string, ...args: Value[]): void {
    this.expect(Errno.success, name, ...args);
  }

  u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  u64(at: number): bigint {
    return this.view.getBigUint64(at, true);
  }

  bytes(at: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, at, length).slice();
  }

  text(at: number, length: number): string {
    return new TextDecoder().decode(this.bytes(at, length));
  }

  /** One I/O vector over `length` bytes at `pointer`: the vector's own pointer. */
  vector(pointer: number, length: number): number {
    const at = this.alloc(8);
    this.view.setUint32(at, pointer, true);
    this.view.setUint32(at + 4, length, true);
    return at;
  }

  /** Opens `path` relative to `dir` (fd 3 by default): the new fd. */
  open(
    path: string,
    options: { oflags?: number; rights?: bigint; fdflags?: number; dir?: number } = {},
  ): number {
    const [pointer, length] = this.put(path);
    const fdAt = this.alloc(4);
    this.ok(
      'path_open',
      options.dir ?? 3,
      1,
      pointer,
      length,
      options.oflags ?? 0,
      options.rights ?? (1n << 30n) - 1n,
      (1n << 30n) - 1n,
      options.fdflags ?? 0,
      fdAt,
    );
    return this.u32(fdAt);
  }

  /** Writes `data` to `fd`: the bytes written. */
  write(fd: number, data: string | Uint8Array): number {
    const [pointer, length] = this.put(data);
    const writtenAt = this.alloc(4);
    this.ok('fd_write', fd, this.vector(pointer, length), 1, writtenAt);
    return this.u32(writtenAt);
  }

  /** Reads up to `length` bytes from `fd`, as text. */
  read(fd: number, length: number): string {
    const buffer = this.alloc(length);
    const readAt = this.alloc(4);
    this.ok('fd_read', fd, this.vector(buffer, length), 1, readAt);
    return this.text(buffer, this.u32(readAt));
  }
}
