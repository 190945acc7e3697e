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

/** The header's words (Int32). */
const WAKE = 0; // bumped for every call and every message: what the worker waits on
const CALLS = 1; // calls written so far
const MESSAGES = 2; // messages posted so far
const LENGTH = 3; // bytes of text in the data area
const REPLY = 4; // the state of the current call's reply
const PARKED = 5; // 1 once the caller stopped spinning for the reply
const SPIN = 6; // microseconds either side spins before it waits
const HEADER_BYTES = 32;

const PENDING = 0;
const READY = 1;
const POSTED = 2;

/** {@link WorkerChannel.poll}: a message waits. */
export const MESSAGE = 0;
/** {@link WorkerChannel.poll}: nothing to do. */
export const IDLE = 1;

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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
  protected readonly data: Uint8Array;
  private scratch: Uint8Array | undefined;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
  }

  /** Writes `text` into the data area; `false` if it does not fit. */
  protected write(text: string): boolean {
    // Encoders refuse shared memory too: the text is encoded into a private buffer, then copied.
    this.scratch ??= new Uint8Array(this.data.length);
    const { read, written } = encoder.encodeInto(text, this.scratch);
    if (read < text.length) return false;
    this.data.set(this.scratch.subarray(0, written));
    Atomics.store(this.header, LENGTH, written);
    return true;
  }

  /** How long either end spins before it waits, in milliseconds. */
  protected spinMs(): number {
    return Atomics.load(this.header, SPIN) / 1000;
  }

  /** The text in the data area (copied out: decoders refuse shared memory). */
  protected read(): string {
    return decoder.decode(this.data.slice(0, Atomics.load(this.header, LENGTH)));
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
  call(text: string): boolean {
    if (!this.write(text)) return false;
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
   * The current call's reply, spun for if `spin`: its text, or `undefined`
   * when it comes by message instead (too large, or not here in time).
   */
  reply(spin: boolean): string | undefined {
    const deadline = performance.now() + (spin ? this.spinMs() : 0);
    for (;;) {
      const state = Atomics.load(this.header, REPLY);
      if (state === READY) return this.read();
      if (state === POSTED) return undefined;
      if (performance.now() >= deadline) break;
    }
    Atomics.store(this.header, PARKED, 1);
    // The worker may have replied in between, before it could see the flag: then it is here.
    return Atomics.load(this.header, REPLY) === READY ? this.read() : undefined;
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
   * What there is to do now: the text of a call to answer, {@link MESSAGE}
   * when a message waits (return to the event loop to receive it), or
   * {@link IDLE} when nothing came. After a quick call, it spins for the next
   * one a little first: a thread that sleeps takes tens of microseconds to
   * wake, and a caller making quick calls one after another sends the next
   * within that.
   */
  poll(): string | typeof MESSAGE | typeof IDLE {
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
   * Answers the current call with `text` (`undefined`: it does not go as
   * text). Whether it must also be sent as a message: the caller has stopped
   * spinning, or the reply did not fit.
   */
  reply(text: string | undefined): boolean {
    this.spinNext = performance.now() - this.startedAt <= this.spinMs();
    if (text === undefined || !this.write(text)) {
      Atomics.store(this.header, REPLY, POSTED);
      return true;
    }
    Atomics.store(this.header, REPLY, READY);
    return Atomics.load(this.header, PARKED) === 1;
  }
}
