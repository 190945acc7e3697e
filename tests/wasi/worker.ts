/**
 * Runs one test of the WASI test suite in every way Node can, posting each
 * run as it ends (so a hang in one keeps the others): in the sandbox twice
 * (fresh instances; the two must be identical), with `@ri-sandbox/wasi` alone
 * on a plain instance, and with node:wasi for comparison.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Case } from './cases';
import { runWithNodeWasi } from './node-wasi';
import { programOf } from './read-program';
import { type SuiteProgram, type SuiteRun, runAlone, runInSandbox } from './suite-run';

/** The ways a test is run in Node. */
export const NODE_MODES = ['sandbox', 'sandbox again', 'alone', 'node:wasi'] as const;

/** One run, as the worker posts it. */
export interface ModeRun {
  readonly mode: (typeof NODE_MODES)[number];
  readonly run: SuiteRun;
}

async function underNodeWasi(program: SuiteProgram): Promise<SuiteRun> {
  const run = await runWithNodeWasi(program.wasm, {
    args: [program.name, ...program.args],
    env: program.env,
    files: program.preopenRoot ? program.files : undefined,
  });
  const none = { gasUsed: -1, filesHash: '', stateHash: '', detail: '' };
  return { ...none, outcome: `exit ${String(run.exitCode)}`, stdout: run.stdout, stderr: run.stderr };
}

const RUNS: Readonly<Record<ModeRun['mode'], (program: SuiteProgram) => Promise<SuiteRun>>> = {
  sandbox: runInSandbox,
  'sandbox again': runInSandbox,
  alone: runAlone,
  'node:wasi': underNodeWasi,
};

// Read once: no run changes the program (each copies the files it starts with).
const program = programOf(workerData as Case);
for (const mode of NODE_MODES) {
  let run: SuiteRun;
  try {
    run = await RUNS[mode](program);
  } catch (error) {
    // Recorded as a failed run of this mode (node:wasi throws on what it lacks), never lost.
    const detail = error instanceof Error ? error.message : String(error);
    run = { outcome: 'threw', stdout: '', stderr: '', gasUsed: -1, filesHash: '', stateHash: '', detail };
  }
  parentPort?.postMessage({ mode, run } satisfies ModeRun);
}
