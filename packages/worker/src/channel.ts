/**
 * A shared-memory channel between the pool and one worker, beside their
 * messages, for the calls that must be quick. The caller writes a call and
 * spins for its reply for a few microseconds, then parks: the worker sees that
 * and sends the reply as a message as well. The worker, after a quick call,
 * spins for the next one as long, then waits with `Atomics.waitAsync`, its
 * event loop free. Messages keep flowing beside it: the pool rings after
 * posting each one, and the worker leaves its loop to receive it.
 *
 * One call is in flight per worker (the pool's rule), so one data area holds
 * the call, then its reply.
 */

import { WireReader, WireWriter } from './wire';

/** The header's words (Int32). */
const WAKE = 0; // bumped for every call and every message: what the worker waits on
const CALLS = 1; // calls written so far
const MESSAGES = 2; // messages posted so far
const REPLY = 3; // the state of the current call's reply
const PARKED = 4; // 1 once the caller stopped spinning for the reply
const SPIN = 5; // microseconds either side spins before it waits
const HEADER_BYTES = 32;

const PENDING = 0;
const READY = 1;
const POSTED = 2;

/** {@link WorkerChannel.poll}: a message waits. */
export const MESSAGE: unique symbol = Symbol('message');
/** {@link WorkerChannel.poll}: nothing to do. */
export const IDLE: unique symbol = Symbol('idle');
/** {@link CallerChannel.reply}: the reply comes by message. */
export const BY_MESSAGE: unique symbol = Symbol('by message');

/** Default size of a channel: a call or reply larger than the data area goes by message. */
export const CHANNEL_BYTES = 1 << 16;

/** `Atomics.waitAsync` (ES2024; not in every engine yet). */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) =>
  | { readonly async: false; readonly value: string }
  | { readonly async: true; readonly value: Promise<string> };

/** Whether this platform can share memory with workers (browsers: only when cross-origin isolated). */
export function canShareMemory(): boolean {
  const scope = globalThis as { crossOriginIsolated?: boolean };
  return (
    typeof SharedArrayBuffer === 'function' &&
    typeof Atomics === 'object' &&
    scope.crossOriginIsolated !== false
  );
}

class Channel {
  protected readonly header: Int32Array;
  private readonly writer: WireWriter;
  private readonly reader: WireReader;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    const data = new Uint8Array(buffer, HEADER_BYTES);
    this.writer = new WireWriter(data);
    this.reader = new WireReader(data);
  }

  /** Writes `value` into the data area; `false` if it cannot go as bytes or does not fit. */
  protected write(value: unknown): boolean {
    // Published by the atomic write of the call's count or the reply's state that follows.
    return this.writer.write(value) !== undefined;
  }

  /** How long either end spins before it waits, in milliseconds. */
  protected spinMs(): number {
    return Atomics.load(this.header, SPIN) / 1000;
  }

  /** The value in the data area. */
  protected read(): unknown {
    return this.reader.read();
  }
}

/** The pool's end. */
export class CallerChannel extends Channel {
  /** A channel whose ends spin up to `spinMicroseconds` before they wait, with `bytes` of data area. */
  constructor(spinMicroseconds: number, bytes: number = CHANNEL_BYTES) {
    super(new SharedArrayBuffer(HEADER_BYTES + bytes));
    Atomics.store(this.header, SPIN, spinMicroseconds);
  }

  /** Tells the worker that a message is on its way: it leaves its wait to receive it. Call after posting. */
  ring(): void {
    Atomics.add(this.header, MESSAGES, 1);
    this.wake();
  }

  /** Sends a call; `false` (and nothing sent) if it does not fit. */
  call(value: unknown): boolean {
    if (!this.write(value)) return false;
    Atomics.store(this.header, REPLY, PENDING);
    Atomics.store(this.header, PARKED, 0);
    Atomics.add(this.header, CALLS, 1);
    this.wake();
    return true;
  }

  private wake(): void {
    Atomics.add(this.header, WAKE, 1);
    Atomics.notify(this.header, WAKE);
  }

  /**
   * The current call's reply, spun for if `spin`: its value, or {@link BY_MESSAGE}
   * when it comes by message instead (too large, or not here in time).
   */
  reply(spin: boolean): unknown {
    const deadline = performance.now() + (spin ? this.spinMs() : 0);
    for (;;) {
      const state = Atomics.load(this.header, REPLY);
      if (state === READY) return this.read();
      if (state === POSTED) return BY_MESSAGE;
      if (performance.now() >= deadline) break;
    }
    Atomics.store(this.header, PARKED, 1);
    // The worker may have replied in between, before it could see the flag: then it is here.
    return Atomics.load(this.header, REPLY) === READY ? this.read() : BY_MESSAGE;
  }
}

/** The worker's end. */
export class WorkerChannel extends Channel {
  private calls = 0;
  private messages = 0;
  /** When the current call came in. */
  private startedAt = 0;
  /** Whether to spin for the next call: the last one was answered within the spin, as a quick caller's are. */
  private spinNext = false;
  /** The wake count at the last look. */
  private seen = 0;

  /** Counts a message received (each one the pool rang for). */
  received(): void {
    this.messages++;
  }

  /**
   * What there is to do now: a call to answer, {@link MESSAGE}
   * when a message waits (return to the event loop to receive it), or
   * {@link IDLE} when nothing came. After a quick call, it spins for the next
   * one a little first: a thread that sleeps takes tens of microseconds to
   * wake, and a caller making quick calls one after another sends the next
   * within that.
   */
  poll(): unknown {
    const spinUntil = this.spinNext ? performance.now() + this.spinMs() : 0;
    for (;;) {
      this.seen = Atomics.load(this.header, WAKE);
      if (Atomics.load(this.header, MESSAGES) !== this.messages) {
        this.spinNext = false;
        return MESSAGE;
      }
      if (Atomics.load(this.header, CALLS) !== this.calls) {
        this.calls++;
        this.startedAt = performance.now();
        return this.read();
      }
      if (performance.now() >= spinUntil) return IDLE;
    }
  }

  /**
   * Resolves once the caller has called or rung since the last {@link poll}
   * found nothing. The thread stays free for its messages meanwhile
   * (`Atomics.waitAsync`); where that does not exist, it blocks here instead.
   */
  woken(): Promise<void> {
    const { waitAsync } = Atomics as unknown as { waitAsync?: WaitAsync };
    if (waitAsync === undefined) {
      Atomics.wait(this.header, WAKE, this.seen);
      return Promise.resolve();
    }
    const waited = waitAsync.call(Atomics, this.header, WAKE, this.seen);
    return waited.async ? waited.value.then(() => undefined) : Promise.resolve();
  }

  /**
   * Answers the current call with `value`. Whether it must also be sent as a
   * message: the caller has stopped spinning, or the reply cannot go as bytes
   * (something the wire does not carry, or too large).
   */
  reply(value: unknown): boolean {
    this.spinNext = performance.now() - this.startedAt <= this.spinMs();
    if (!this.write(value)) {
      Atomics.store(this.header, REPLY, POSTED);
      return true;
    }
    Atomics.store(this.header, REPLY, READY);
    return Atomics.load(this.header, PARKED) === 1;
  }
}
