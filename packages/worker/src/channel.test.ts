import { describe, expect, it } from 'vitest';
import { CallerChannel, IDLE, MESSAGE, WorkerChannel, canShareMemory } from './channel';

/** Both ends of one channel, on this thread (no step here blocks: each has something waiting). */
function ends(bytes?: number) {
  const caller = new CallerChannel(1_000_000, bytes);
  return { caller, worker: new WorkerChannel(caller.buffer) };
}

describe('the shared channel', () => {
  it('carries a call to the worker and its reply back, UTF-8 included', () => {
    const { caller, worker } = ends();
    expect(caller.call('{"op":"execute","text":"ünïcode ✓"}')).toBe(true);
    expect(worker.poll()).toBe('{"op":"execute","text":"ünïcode ✓"}');
    // The caller is still spinning: the reply goes in shared memory only.
    expect(worker.reply('{"ok":true}')).toBe(false);
    expect(caller.reply(true)).toBe('{"ok":true}');
  });

  it('has the reply sent by message as well once the caller parks', () => {
    const { caller, worker } = ends();
    caller.call('first');
    expect(worker.poll()).toBe('first');
    expect(caller.reply(false)).toBeUndefined();
    expect(worker.reply('late')).toBe(true);
    // A reply already there is taken, spin or not.
    caller.call('second');
    worker.poll();
    worker.reply('quick');
    expect(caller.reply(false)).toBe('quick');
  });

  it('refuses a call too large for it, and marks a reply too large as coming by message', () => {
    const { caller, worker } = ends(64);
    expect(caller.call('x'.repeat(65))).toBe(false);
    expect(caller.call('é'.repeat(30))).toBe(true); // 60 bytes
    expect(worker.poll()).toBe('é'.repeat(30));
    expect(worker.reply('y'.repeat(100))).toBe(true);
    expect(caller.reply(true)).toBeUndefined();
    caller.call('again');
    worker.poll();
    expect(worker.reply(undefined)).toBe(true);
    expect(caller.reply(true)).toBeUndefined();
  });

  it('sends the worker back to its messages when the caller rings, in the order things were sent', () => {
    const { caller, worker } = ends();
    expect(worker.poll()).toBe(IDLE);
    caller.ring();
    expect(worker.poll()).toBe(MESSAGE);
    // Until the worker has received that message, it keeps going back for it.
    expect(worker.poll()).toBe(MESSAGE);
    worker.received();
    expect(worker.poll()).toBe(IDLE);
    caller.call('after the message');
    expect(worker.poll()).toBe('after the message');
  });

  it('is available where memory can be shared', () => {
    expect(canShareMemory()).toBe(true);
    const scope = globalThis as { crossOriginIsolated?: boolean };
    scope.crossOriginIsolated = false;
    try {
      expect(canShareMemory()).toBe(false);
    } finally {
      delete scope.crossOriginIsolated;
    }
  });
});
