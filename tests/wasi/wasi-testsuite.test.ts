/**
 * The official WASI test suite (preview 1; 72 programs in Rust, C and
 * AssemblyScript, see this folder's README), each run as a command with
 * `@ri-sandbox/wasi`: its exit code, and its standard output where the test
 * names one, must be what the test expects.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry } from '../support/bundle';
import { type JobReport, runInWorkers } from '../support/worker-pool';
import { CASES } from './cases';
import type { WasiRun, WasiTest } from './worker';

const here = fileURLToPath(new URL('.', import.meta.url));
const cases = CASES;

const reports = new Map<string, JobReport<WasiRun>>();

describe('the WASI test suite, standalone (a plain instance, in a worker each)', () => {
  beforeAll(async () => {
    const script = await bundleEntry(join(here, 'worker.ts'));
    // Far above what any test needs (milliseconds): a hang fails its test instead of stalling CI.
    const results = await runInWorkers<WasiTest, WasiRun>({
      script,
      inputs: cases,
      concurrency: Math.max(1, availableParallelism()),
      timeoutMs: 5 * 60_000,
    });
    cases.forEach((test, i) => reports.set(test.name, results[i] as JobReport<WasiRun>));
  }, 30 * 60_000);

  it('has all 72 tests', () => {
    expect(cases).toHaveLength(72);
  });

  it.each(cases.map((test) => [test.name, test] as const))('%s', (_name, test) => {
    const report = reports.get(test.name);
    expect(report?.error).toBeUndefined();
    const [run] = report?.messages ?? [];
    // On a failure, what the program said (a Rust test's panic message) is in the diff.
    const said =
      (run?.exitCode ?? -1) === test.exitCode ? '' : `${run?.trap ?? ''} ${run?.stderr ?? ''}`.trim();
    expect({ exitCode: run?.exitCode, stdout: test.stdout === '' ? '' : run?.stdout, said }).toEqual({
      exitCode: test.exitCode,
      stdout: test.stdout,
      said: '',
    });
  });
});
