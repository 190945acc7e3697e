/**
 * The official WASI test suite again, each program run through the sandbox:
 * every transform, metered, with the limits a real user would set (far above
 * what any test needs, so a busy machine cannot fail it). The gas and time
 * limits also stop a program that would hang, so this runs in-process.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { CASES } from './cases';
import { filesUnder } from './worker';

const sandbox = createWasmSandbox();
const text = new TextDecoder();

describe('the WASI test suite, in the sandbox (every transform, metered)', () => {
  it.each(CASES.map((test) => [test.name, test] as const))(
    '%s',
    async (_name, test) => {
      const created = sandbox.create({
        maxGas: 1e11,
        maxExecutionMs: 120_000,
        maxMemoryBytes: 256 << 20,
        wasi: {
          args: [test.name, ...test.args],
          env: test.env,
          files: test.root === undefined ? {} : filesUnder(test.root),
          preopenRoot: test.root !== undefined,
        },
      });
      if (!created.ok) throw new Error(created.error.message);
      const loaded = await sandbox.load(created.value, readFileSync(test.wasm));
      if (!loaded.ok) throw new Error(loaded.error.message);
      const result = sandbox.execute(created.value, '_start');
      sandbox.destroy(created.value);
      const stdout = test.stdout === '' ? '' : text.decode(result.output?.stdout);
      // On a failure, what the program said (a Rust test's panic message) is in the diff.
      const said = result.ok ? '' : `${result.error.message} ${text.decode(result.output?.stderr)}`.trim();
      expect({ exitCode: result.ok ? result.value : undefined, stdout, said }).toEqual({
        exitCode: test.exitCode,
        stdout: test.stdout,
        said: '',
      });
    },
    150_000,
  );
});
