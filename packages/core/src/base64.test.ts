import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from './base64';

describe('decodeBase64', () => {
  it('gives back the bytes btoa encoded, of any length (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = btoa(String.fromCharCode(...bytes));
        expect(decodeBase64(text)).toEqual(bytes);
      }),
    );
  });

  it('throws on text that is not base64', () => {
    expect(() => decodeBase64('not base64!')).toThrow();
  });
});
