import { describe, expect, it } from 'vitest';
import { readableBytes } from './readable-bytes';

describe('readableBytes', () => {
  it('takes a Uint8Array as it is and views an ArrayBuffer', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(readableBytes(bytes)).toBe(bytes);
    const buffer = new ArrayBuffer(4);
    const viewed = readableBytes(buffer);
    expect(viewed).toBeInstanceOf(Uint8Array);
    expect(viewed?.buffer).toBe(buffer);
  });

  it('refuses, without throwing, what cannot be read: proxies, a detached buffer, other views and types', () => {
    const throws = (): never => {
      throw new Error('trap');
    };
    const detached = new ArrayBuffer(8);
    structuredClone(detached, { transfer: [detached] });
    const revocable = Proxy.revocable(new Uint8Array(4), {});
    revocable.revoke();
    for (const value of [
      new Proxy(new Uint8Array(4), { get: throws }),
      new Proxy(new ArrayBuffer(4), { get: throws }),
      new Proxy(new ArrayBuffer(4), {}),
      revocable.proxy,
      detached,
      new SharedArrayBuffer(4),
      new Uint16Array(2),
      new DataView(new ArrayBuffer(2)),
      [0, 97, 115, 109],
      'wasm',
      null,
      undefined,
    ])
      expect(readableBytes(value)).toBeUndefined();
  });
});
