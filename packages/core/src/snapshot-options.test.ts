import { describe, expect, it } from 'vitest';
import { snapshotCopy, snapshotInto } from './snapshot-options';

/** A proxy of a Uint8Array, revoked: any use of it throws. */
function revoked(): Uint8Array {
  const { proxy, revoke } = Proxy.revocable(new Uint8Array(4), {});
  revoke();
  return proxy;
}

describe('snapshotInto', () => {
  it('gives the buffer to write into, or none', () => {
    const into = new Uint8Array(4);
    expect(snapshotInto(undefined)).toEqual({ ok: true, value: undefined });
    expect(snapshotInto({})).toEqual({ ok: true, value: undefined });
    expect(snapshotInto({ into })).toEqual({ ok: true, value: into });
  });

  it('refuses what is not an object, or an into that is not a Uint8Array, saying what it got', () => {
    const throwing = new Proxy(
      {},
      {
        get: () => {
          throw new Error('no');
        },
      },
    );
    for (const [options, field, reason] of [
      [5, 'snapshot options', 'expected an object, got a number'],
      [null, 'snapshot options', 'expected an object, got null'],
      [{ into: [1] }, 'into', 'expected a Uint8Array (not a proxy of one), got an array'],
      [{ into: new Uint16Array(2) }, 'into', 'expected a Uint8Array (not a proxy of one), got Uint16Array'],
      [
        { into: Object.create(null) as object },
        'into',
        'expected a Uint8Array (not a proxy of one), got an object',
      ],
      [{ into: 'bytes' }, 'into', 'expected a Uint8Array (not a proxy of one), got a string'],
      [throwing, 'into', 'reading it threw'],
      [{ into: revoked() }, 'into', 'expected a Uint8Array (not a proxy of one), got an object'],
      [
        { into: new Proxy(new Uint8Array(4), {}) },
        'into',
        'expected a Uint8Array (not a proxy of one), got Uint8Array',
      ],
    ] as const)
      expect(snapshotInto(options)).toEqual({
        ok: false,
        error: expect.objectContaining({ code: 'INVALID_CONFIG', field, reason }) as unknown,
      });
  });
});

describe('snapshotCopy', () => {
  it('copies into the start of a buffer that fits, else into one of its own', () => {
    const snapshot = Uint8Array.of(1, 2, 3);
    const into = new Uint8Array(5).fill(9);
    const copied = snapshotCopy(snapshot, into);
    expect(copied.buffer).toBe(into.buffer);
    expect([...into]).toEqual([1, 2, 3, 9, 9]);
    for (const small of [new Uint8Array(2), undefined]) {
      const own = snapshotCopy(snapshot, small);
      expect(own).toEqual(snapshot);
      expect(own.buffer).not.toBe(snapshot.buffer);
    }
  });
});
