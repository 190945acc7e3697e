import { describe, expect, it } from 'vitest';
import { thrownReason } from './thrown';

describe('thrownReason', () => {
  it("gives an Error's message, and anything else as a string", () => {
    expect(thrownReason(new TypeError('bad'))).toBe('bad');
    expect(thrownReason('plain')).toBe('plain');
    expect(thrownReason(42)).toBe('42');
    expect(thrownReason(undefined)).toBe('undefined');
    expect(thrownReason(Symbol('s'))).toBe('Symbol(s)');
  });

  it('never throws, whatever was thrown', () => {
    // String() of these throws.
    expect(thrownReason(Object.create(null))).toBe('[object Object]');
    expect(
      thrownReason({
        toString: () => {
          throw new Error('no');
        },
      }),
    ).toBe('[object Object]');
    const message = new Error('hidden');
    Object.defineProperty(message, 'message', {
      get: () => {
        throw new Error('no');
      },
    });
    expect(thrownReason(message)).toBe('[object Error]');
    // A revoked proxy: even its kind cannot be read.
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(thrownReason(proxy)).toBe('a value that cannot be read');
  });
});
