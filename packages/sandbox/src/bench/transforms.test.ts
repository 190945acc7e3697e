import { describe, expect, it } from 'vitest';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../../core/test/wat';
import { transformForLoad } from './transforms';

describe('transformForLoad', () => {
  it('gives the module a sandbox load compiles: metered, depth-limited, its state exposed', async () => {
    const transformed = transformForLoad(fixture('counter'));
    if (!transformed.ok) throw new Error(transformed.error.message);
    const module = await WebAssembly.compile(transformed.value as Uint8Array<ArrayBuffer>);
    const exports = WebAssembly.Module.exports(module).map((e) => e.name);
    expect(exports).toEqual(expect.arrayContaining(['add', '__ri_meter', '__ri_depth']));
    expect(exports.some((name) => name.startsWith('__ri_snapshot_'))).toBe(true);
  });

  it('refuses what the policy refuses', () => {
    const shared = wat('(module (memory 1 1 shared))', { validate: false });
    expect(transformForLoad(shared)).toMatchObject({ ok: false, error: { code: 'INVALID_MODULE' } });
    // And what metering refuses: a name it reserves.
    const reserved = wat('(module (global (export "__ri_gas") i32 (i32.const 0)))');
    expect(transformForLoad(reserved)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_MODULE', message: expect.stringMatching(/reserved/) },
    });
    // Both: the policy's reasons come first, found during metering's walk or, when metering stopped, after it.
    const atomic = '(func (drop (i32.atomic.load (i32.const 0))))';
    for (const source of [
      `(module (memory 1 1 shared) ${atomic})`,
      `(module (memory 1 1 shared) (global (export "__ri_gas") i32 (i32.const 0)) ${atomic})`,
    ]) {
      expect(transformForLoad(wat(source, { validate: false }))).toMatchObject({
        ok: false,
        error: {
          code: 'INVALID_MODULE',
          message: expect.stringMatching(
            /^invalid module: not deterministic: shared memories .*; atomic instructions/,
          ),
        },
      });
    }
  });
});
