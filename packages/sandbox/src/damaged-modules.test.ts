import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeModule, instructionEnd } from '@ri-sandbox/core';
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

/**
 * Where `bytes` (a module) hold an index of a local, global or function, or a type, in one byte, in
 * its function bodies: the instructions whose index names what the transforms add to a space when it
 * is one past the module's own.
 */
function indexImmediates(bytes: Uint8Array<ArrayBuffer>): number[] {
  const INDEXED = new Set([0x10, 0x11, 0x12, 0x13, 0x20, 0x21, 0x22, 0x23, 0x24, 0xd2]);
  const at: number[] = [];
  for (const { code } of decodeModule(bytes).code) {
    // The bodies are views of `bytes`.
    const base = code.byteOffset - bytes.byteOffset;
    for (let p = 0; p < code.length; p = instructionEnd(code, p))
      if (INDEXED.has(code[p] as number) && (code[p + 1] as number) < 0x80) at.push(base + p + 1);
  }
  return at;
}

/** `bytes` with an index immediate of one byte given another value of one byte. */
function misindexed(bytes: Uint8Array<ArrayBuffer>): fc.Arbitrary<Uint8Array<ArrayBuffer>> {
  const places = indexImmediates(bytes);
  return fc.record({ at: fc.constantFrom(...places), value: fc.nat(0x7f) }).map(({ at, value }) => {
    const out = bytes.slice();
    out[at] = value;
    return out;
  });
}

describe('loads of damaged modules', () => {
  const sandbox = testSandbox();
  const instance = valueOfResult(sandbox.create({ maxGas: 1_000_000 }));
  const add = fixture('add');

  /**
   * Loads `bytes` over `add`: accepted only if they validate (and `add` loads again after), refused
   * with INVALID_MODULE if they do not, and if they do, refused only for what they ask or do, never
   * for what the transforms made of them. The module loaded before stays.
   */
  async function loadsAsValidationSays(bytes: Uint8Array<ArrayBuffer>): Promise<void> {
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
  }

  it('accept only what validates, transform all of that validly, refuse the rest with INVALID_MODULE, and keep the module loaded before', async () => {
    valueOfResult(await sandbox.load(instance, add));
    // Most of a clang module's bytes are its code: most damage lands in function bodies, which every
    // transform walks (those still valid load, and are metered).
    await fc.assert(fc.asyncProperty(damaged(fixture('sort')), loadsAsValidationSays), { numRuns: 600 });
  });

  it('refuse every index past its space, which the input is not validated for and the transforms add to', async () => {
    valueOfResult(await sandbox.load(instance, add));
    // An index one past a space names what metering, the call-depth limit or the exposure of state
    // appended to it (a counter global, a helper function, a scratch local): only the transforms'
    // own checks refuse it. About half of these are invalid.
    let invalid = 0;
    await fc.assert(
      fc.asyncProperty(misindexed(fixture('sort')), async (bytes) => {
        if (!WebAssembly.validate(bytes)) invalid++;
        await loadsAsValidationSays(bytes);
      }),
      { numRuns: 400 },
    );
    expect(invalid).toBeGreaterThan(40);
  });
});
