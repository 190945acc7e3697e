import { describe, expect, it } from 'vitest';
import { BY_MESSAGE, CallerChannel, IDLE, MESSAGE, WorkerChannel, canShareMemory } from './channel';

/** Both ends of one channel, on this thread (no step here blocks: each has something waiting). */
function ends(bytes?: number) {
  const caller = new CallerChannel(1_000_000, bytes);
  return { caller, worker: new WorkerChannel(caller.buffer) };
}

describe('the shared channel', () => {
  it('carries a call to the worker and its reply back, as copies', () => {
    const { caller, worker } = ends();
    const call = { op: 'execute', args: ['ünïcode ✓', [1, 2n, -0]] };
    expect(caller.call(call)).toBe(true);
    const received = worker.poll();
    expect(received).toStrictEqual(call);
    expect(received).not.toBe(call);
    // The caller is still spinning: the reply goes in shared memory only.
    expect(worker.reply({ ok: true })).toBe(false);
    expect(caller.reply(true)).toStrictEqual({ ok: true });
  });

  it('has the reply sent by message as well once the caller parks', () => {
    const { caller, worker } = ends();
    caller.call('first');
    expect(worker.poll()).toBe('first');
    expect(caller.reply(false)).toBe(BY_MESSAGE);
    expect(worker.reply('late')).toBe(true);
    // A reply already there is taken, spin or not.
    caller.call('second');
    worker.poll();
    worker.reply('quick');
    expect(caller.reply(false)).toBe('quick');
  });

  it('refuses a call too large for it or not plain data, and marks such a reply as coming by message', () => {
    const { caller, worker } = ends(64);
    expect(caller.call('x'.repeat(30))).toBe(false); // a tag, a length and 60 bytes
    expect(caller.call(new Map())).toBe(false);
    expect(caller.call('é'.repeat(29))).toBe(true); // 63 bytes
    expect(worker.poll()).toBe('é'.repeat(29));
    expect(worker.reply('y'.repeat(100))).toBe(true);
    expect(caller.reply(true)).toBe(BY_MESSAGE);
    caller.call('again');
    worker.poll();
    expect(worker.reply(new Error('not plain'))).toBe(true);
    expect(caller.reply(true)).toBe(BY_MESSAGE);
    // Nothing is lost for a value that is undefined.
    caller.call(undefined);
    expect(worker.poll()).toBeUndefined();
    expect(worker.reply(undefined)).toBe(false);
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
