/**
 * The calls about the process rather than files: arguments and environment,
 * clocks, randomness, polling, exit and signals, yielding, and sockets (which
 * a sandbox has none of).
 */
import { Errno, EventType, Layout, Rights, SubclockFlags } from '../abi';
import type { GuestMemory } from '../guest';
import { type WasiState, fail } from '../state';
import type { Calls } from './types';

/** Thrown by `proc_exit`: the guest asked to end with `code`. Never reaches the guest. */
export class WasiExit extends Error {
  override readonly name = 'WasiExit';
  constructor(readonly code: number) {
    super(`the guest exited with code ${code}`);
  }
}

/** Thrown by `proc_raise`: the guest raised a signal, which ends it as a trap. */
export class WasiRaise extends Error {
  override readonly name = 'WasiRaise';
  constructor(readonly signal: number) {
    super(`the guest raised signal ${signal} (proc_raise)`);
  }
}

/** Writes NUL-terminated `strings` into `buffer` and a pointer to each into `pointers`. */
function writeStrings(
  memory: GuestMemory,
  strings: readonly Uint8Array[],
  pointers: number,
  buffer: number,
): void {
  let at = buffer;
  strings.forEach((text, i) => {
    memory.setU32(pointers + 4 * i, at);
    memory.write(at, text);
    memory.setU8(at + text.length, 0);
    at += text.length + 1;
  });
}

function writeSizes(
  memory: GuestMemory,
  strings: readonly Uint8Array[],
  countAt: number,
  sizeAt: number,
): void {
  memory.setU32(countAt, strings.length);
  memory.setU32(
    sizeAt,
    strings.reduce((sum, text) => sum + text.length + 1, 0),
  );
}

/** Nanoseconds of resolution every clock reports: virtual time is exact. */
const RESOLUTION_NS = 1n;

interface Subscription {
  readonly userdata: bigint;
  readonly type: number;
  /** For a clock: the monotonic time it expires at; `undefined` for a descriptor. */
  readonly deadline: bigint | undefined;
  readonly error: number;
  /** For a descriptor: the bytes ready to read. */
  readonly nbytes: bigint;
}

function readSubscription(state: WasiState, memory: GuestMemory, at: number): Subscription {
  const layout = Layout.subscription;
  const userdata = memory.u64(at + layout.userdata);
  const type = memory.u8(at + layout.tag);
  if (type === EventType.clock) {
    const id = memory.u32(at + layout.clockId);
    const timeout = memory.u64(at + layout.timeout);
    const absolute = (memory.u16(at + layout.flags) & SubclockFlags.abstime) !== 0;
    const now = state.clock.read(id);
    if (now === undefined) return { userdata, type, deadline: 0n, error: Errno.inval, nbytes: 0n };
    // An absolute deadline on the realtime clock is moved onto the monotonic one.
    const wait = absolute ? timeout - now : timeout;
    return {
      userdata,
      type,
      deadline: state.clock.monotonic() + (wait > 0n ? wait : 0n),
      error: 0,
      nbytes: 0n,
    };
  }
  if (type !== EventType.fdRead && type !== EventType.fdWrite) fail(Errno.inval);
  const fd = memory.u32(at + layout.fd);
  const descriptor = state.descriptors.get(fd);
  let error: number = Errno.success;
  if (descriptor === undefined) error = Errno.badf;
  else if ((descriptor.rightsBase & Rights.pollFdReadwrite) === 0n) error = Errno.notcapable;
  let nbytes = 0n;
  if (error === Errno.success && type === EventType.fdRead) {
    if (descriptor?.kind === 'file')
      nbytes = BigInt(Math.max(0, descriptor.node.data.length - descriptor.offset));
    if (descriptor?.kind === 'stdin') nbytes = BigInt(state.stdin.data.length - state.stdin.offset);
  }
  return { userdata, type, deadline: undefined, error, nbytes };
}

function writeEvent(memory: GuestMemory, at: number, event: Subscription): void {
  const layout = Layout.event;
  memory.fill(at, layout.size, (view) => view.fill(0));
  memory.setU64(at + layout.userdata, event.userdata);
  memory.setU16(at + layout.error, event.error);
  memory.setU8(at + layout.type, event.type);
  if (event.type !== EventType.clock) memory.setU64(at + layout.nbytes, event.nbytes);
}

/** The process calls, over `state` and the guest's memory. */
export function processCalls(state: WasiState, memory: () => GuestMemory): Calls {
  return {
    args_get: (argv: number, buffer: number) => {
      writeStrings(memory(), state.args, argv, buffer);
    },
    args_sizes_get: (count: number, size: number) => {
      writeSizes(memory(), state.args, count, size);
    },
    environ_get: (environ: number, buffer: number) => {
      writeStrings(memory(), state.env, environ, buffer);
    },
    environ_sizes_get: (count: number, size: number) => {
      writeSizes(memory(), state.env, count, size);
    },

    clock_res_get: (id: number, resolution: number) => {
      if (state.clock.read(id) === undefined) fail(Errno.inval);
      memory().setU64(resolution, RESOLUTION_NS);
    },
    clock_time_get: (id: number, _precision: bigint, time: number) => {
      const now = state.clock.read(id);
      if (now === undefined) return fail(Errno.inval);
      memory().setU64(time, now);
    },

    random_get: (buffer: number, length: number) => {
      memory().fill(buffer, length, (view) => {
        for (let i = 0; i < view.length; i += 4) {
          const bits = state.random.next();
          for (let b = 0; b < 4 && i + b < view.length; b++) view[i + b] = (bits >>> (8 * b)) & 0xff;
        }
      });
      state.moved += length;
    },

    poll_oneoff: (input: number, output: number, count: number, eventCount: number) => {
      if (count === 0) fail(Errno.inval);
      const guest = memory();
      const subscriptions = Array.from({ length: count }, (_, i) =>
        readSubscription(state, guest, input + i * Layout.subscription.size),
      );
      // Descriptors are always ready (input is all there; output never blocks); clocks fire in
      // virtual time: with nothing else ready, the guest sleeps until the earliest deadline, at once.
      let ready = subscriptions.filter((s) => s.deadline === undefined || s.error !== 0);
      const now = state.clock.monotonic();
      ready = [
        ...ready,
        ...subscriptions.filter((s) => s.deadline !== undefined && s.error === 0 && s.deadline <= now),
      ];
      if (ready.length === 0) {
        const earliest = subscriptions.reduce(
          (min, s) => ((s.deadline as bigint) < min ? (s.deadline as bigint) : min),
          (subscriptions[0] as Subscription).deadline as bigint,
        );
        state.clock.offsetNs += earliest - now;
        ready = subscriptions.filter((s) => s.deadline === earliest);
      }
      ready.forEach((event, i) => {
        writeEvent(guest, output + i * Layout.event.size, event);
      });
      guest.setU32(eventCount, ready.length);
    },

    proc_exit: (code: number) => {
      throw new WasiExit(code >>> 0);
    },
    proc_raise: (signal: number) => {
      throw new WasiRaise(signal);
    },
    sched_yield: () => undefined,

    sock_accept: (fd: number) => {
      state.descriptor(fd);
      fail(Errno.notsock);
    },
    sock_recv: (fd: number) => {
      state.descriptor(fd);
      fail(Errno.notsock);
    },
    sock_send: (fd: number) => {
      state.descriptor(fd);
      fail(Errno.notsock);
    },
    sock_shutdown: (fd: number) => {
      state.descriptor(fd);
      fail(Errno.notsock);
    },
  };
}
