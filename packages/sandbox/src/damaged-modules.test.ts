import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixture } from '@ri-sandbox/test-fixtures';
import { testSandbox, valueOf, valueOfResult } from '../test/helpers';

/** `bytes` with one byte changed, one inserted or one removed, or cut short. */
function damaged(bytes: Uint8Array<ArrayBuffer>): fc.Arbitrary<Uint8Array<ArrayBuffer>> {
  const at = fc.nat(bytes.length - 1);
  const value = fc.integer({ min: 0, max: 255 });
  return fc.oneof(
    fc.record({ at, value }).map(({ at, value }) => {
      const out = bytes.slice();
      out[at] = value;
      return out;
    }),
    fc.record({ at, value }).map(({ at, value }) => {
      const out = new Uint8Array(bytes.length + 1);
      out.set(bytes.subarray(0, at));
      out[at] = value;
      out.set(bytes.subarray(at), at + 1);
      return out;
    }),
    at.map((at) => {
      const out = new Uint8Array(bytes.length - 1);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + 1), at);
      return out;
    }),
    at.map((length) => bytes.slice(0, length)),
  );
}

describe('loads of damaged modules', () => {
  it('accept only what validates, transform all of that validly, refuse the rest with INVALID_MODULE, and keep the module loaded before', async () => {
    const sandbox = testSandbox();
    const instance = valueOfResult(sandbox.create({ maxGas: 1_000_000 }));
    const add = fixture('add');
    valueOfResult(await sandbox.load(instance, add));
    // Most of a clang module's bytes are its code: most damage lands in function bodies, which every
    // transform walks (those still valid load, and are metered).
    await fc.assert(
      fc.asyncProperty(damaged(fixture('sort')), async (bytes) => {
        const valid = WebAssembly.validate(bytes);
        const loadedDamaged = await sandbox.load(instance, bytes);
        if (loadedDamaged.ok) {
          expect(valid).toBe(true);
          valueOfResult(await sandbox.load(instance, add));
        } else if (!valid) expect(loadedDamaged.error.code).toBe('INVALID_MODULE');
        else {
          // Refused for what it asks (an import, a memory too large) or for what instantiating it does (a
          // segment out of its table's or memory's bounds, a start function that traps or runs out),
          // never for what the transforms made of it.
          const { code, message } = loadedDamaged.error;
          expect(['INVALID_MODULE', 'MEMORY_EXCEEDED', 'WASM_TRAP', 'OUT_OF_GAS', 'TIMEOUT']).toContain(code);
          expect(message).not.toMatch(/after transformation/);
          // A trap the module makes as it is, where it imports nothing the engine would need.
          const raw = new WebAssembly.Module(bytes);
          if (code === 'WASM_TRAP' && WebAssembly.Module.imports(raw).length === 0)
            expect(() => new WebAssembly.Instance(raw)).toThrow(WebAssembly.RuntimeError);
        }
        expect(valueOf(sandbox.execute(instance, 'add', [2, 3]))).toBe(5);
      }),
      { numRuns: 600 },
    );
  });
});
